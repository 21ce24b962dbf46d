import { mkdtemp, readdir, readFile, writeFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { OffsetStoreError } from '../errors.ts';
import { FileOffsetStore } from './file-offset-store.ts';

describe('FileOffsetStore', () => {
  let dir: string;
  beforeEach(async () => {
    dir = await mkdtemp(join(tmpdir(), 'idra-offsets-'));
  });
  afterEach(async () => {
    await rm(dir, { recursive: true, force: true });
  });

  it('returns nothing for a sync that never committed', async () => {
    expect(await new FileOffsetStore(dir).load('s1')).toBeUndefined();
  });

  it('round-trips a versioned document and keeps 64-bit values exact', async () => {
    const store = new FileOffsetStore(dir);
    await store.commit('s1', { kind: 'timestamp', value: '2024-05-01 10:00:00.123456', tiebreaker: '9223372036854775807' }, { agentId: 'a1', epoch: 3 });
    const doc = await new FileOffsetStore(dir).load('s1');
    expect(doc).toMatchObject({ v: 1, kind: 'timestamp', value: '2024-05-01 10:00:00.123456', tiebreaker: '9223372036854775807', agentId: 'a1', epoch: 3 });
    expect(Date.parse(doc!.committedAt)).not.toBeNaN();
  });

  it('leaves no temporary file behind and replaces the file atomically', async () => {
    const store = new FileOffsetStore(dir);
    for (let i = 1; i <= 20; i++) await store.commit('s1', { kind: 'id', value: String(i) }, { agentId: 'a', epoch: 0 });
    expect(await readdir(join(dir, 'offsets'))).toEqual(['s1.json']);
    expect((await store.load('s1'))?.value).toBe('20');
  });

  it('reports a corrupt file instead of starting over silently', async () => {
    const store = new FileOffsetStore(dir);
    await store.commit('s1', { kind: 'id', value: '5' }, { agentId: 'a', epoch: 0 });
    await writeFile(join(dir, 'offsets', 's1.json'), '{"v":1,"kind":"id","val');
    await expect(store.load('s1')).rejects.toBeInstanceOf(OffsetStoreError);
  });

  it('records manual changes with who, why, old and new', async () => {
    const store = new FileOffsetStore(dir);
    await store.commit('s1', { kind: 'id', value: '100' }, { agentId: 'a', epoch: 0 });
    await store.set('s1', { kind: 'id', value: '50' }, { by: 'alice', reason: 'replay' });
    await store.set('s1', null, { by: 'bob', reason: 'start over' });
    expect(await store.load('s1')).toBeUndefined();
    const history = await store.history('s1');
    expect(history.map((h) => [h.by, h.reason, h.old, h.new])).toEqual([
      ['alice', 'replay', { kind: 'id', value: '100' }, { kind: 'id', value: '50' }],
      ['bob', 'start over', { kind: 'id', value: '50' }, null],
    ]);
    expect(JSON.parse(await readFile(join(dir, 'offsets', 's1.history.jsonl'), 'utf8').then((t) => t.split('\n')[0]!)).by).toBe('alice');
  });
});
