import { mkdtemp } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { normalizeSync } from '../model/sync.ts';
import { FileOffsetStore } from '../offset/file-offset-store.ts';
import type { Logger } from '../log.ts';
import type { SyncStatus } from './status.ts';
import { SyncRunner } from './sync-runner.ts';
import { sleep } from './backoff.ts';

describe("a sync's secrets never reach its status (what /events and the UI show) or its log", () => {
  it('masks the credentials a connector error quotes, by core rule of what is secret', async () => {
    const token = 'Url-Token-5e3f9a';
    const password = 'Conn-Pa55-81c2d0';
    const sync = normalizeSync({
      id: 'leaky',
      source: {
        connector: 'http',
        connection: { url: `https://api.example.com/?access_token=${token}`, password },
        url: 'items',
        options: { headers: { 'X-Api-Key': 'Header-Key-44aa77' } },
      },
      destination: { connector: 'sqlite', connection: { file: '/nonexistent/x.db' }, table: 't' },
      mode: 'stream',
    });
    const lines: string[] = [];
    const logger: Logger = {
      debug: (o, m) => void lines.push(JSON.stringify(o) + m),
      info: (o, m) => void lines.push(JSON.stringify(o) + m),
      warn: (o, m) => void lines.push(JSON.stringify(o) + m),
      error: (o, m) => void lines.push(JSON.stringify(o) + m),
      child: () => logger,
    };
    const statuses: SyncStatus[] = [];
    const runner = new SyncRunner({
      sync,
      connectors: {
        // What a driver might say: the URL it could not reach, the credentials it sent.
        openSource: async () => {
          throw new Error(`cannot GET https://api.example.com/items?access_token=${token} with Bearer ${password} and X-Api-Key Header-Key-44aa77`);
        },
        openDestination: async () => {
          throw new Error('not reached');
        },
      },
      offsets: new FileOffsetStore(await mkdtemp(join(tmpdir(), 'idra-runner-'))),
      deadLetters: { record: async () => {} },
      agentId: 'test-agent',
      logger,
      backoff: { initialMs: 10_000, maxMs: 10_000 },
      onStatus: (st) => statuses.push(structuredClone(st)),
    });
    void runner.start();
    try {
      const deadline = Date.now() + 10_000;
      while (!runner.snapshot.lastError) {
        if (Date.now() > deadline) throw new Error('no error reported');
        await sleep(10);
      }
      expect(runner.snapshot.lastError.message).toMatch(
        /cannot GET https:\/\/api\.example\.com\/items\?access_token=\*{8} with Bearer \*{8} and X-Api-Key \*{8}/,
      );
      const everything = JSON.stringify(statuses) + lines.join('\n');
      expect(lines.some((l) => l.includes('retrying'))).toBe(true);
      for (const secret of [token, password, 'Header-Key-44aa77']) expect(everything, secret).not.toContain(secret);
    } finally {
      await runner.stop();
    }
  });
});
