import { spawn } from 'node:child_process';
import { resolve } from 'node:path';
import { describe, expect, it } from 'vitest';

const PROGRAM = resolve(import.meta.dirname, '../testing/stray-error-sync.ts');

interface Line {
  log?: string;
  syncId?: string;
  err?: string;
  status?: { syncId: string; state: string; lastError?: { code: string; message: string } };
}

describe('the last-line guard of a process running syncs', () => {
  it("keeps the process alive and makes the sync that raised an unheard 'error' event reconnect and retry, showing it; other syncs go on", async () => {
    const child = spawn(process.execPath, [PROGRAM], { stdio: ['ignore', 'pipe', 'pipe'] });
    const lines: Line[] = [];
    let stderr = '';
    let buffer = '';
    child.stdout.on('data', (d: Buffer) => {
      buffer += d.toString();
      const parts = buffer.split('\n');
      buffer = parts.pop()!;
      for (const p of parts) lines.push(JSON.parse(p) as Line);
    });
    child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
    const exited = new Promise<number | null>((r) => child.on('exit', (code) => r(code)));
    const statuses = (syncId: string) => lines.flatMap((l) => (l.status?.syncId === syncId ? [l.status] : []));
    try {
      const deadline = Date.now() + 20_000;
      // Retried, then idle again on a new connection.
      while (!statuses('faulty').some((s, i, all) => s.state === 'retrying' && all.slice(i).some((later) => later.state === 'idle'))) {
        if (child.exitCode !== null || Date.now() > deadline)
          throw new Error(`no recovery; exit ${child.exitCode}; ${stderr}; last lines ${JSON.stringify(lines.slice(-8))}`);
        await new Promise((r) => setTimeout(r, 20));
      }
      expect(child.exitCode).toBeNull();
      const retrying = statuses('faulty').find((s) => s.state === 'retrying')!;
      expect(retrying.lastError).toMatchObject({ code: 'IDRA_ERR_CONNECTOR_UNCAUGHT', message: expect.stringContaining('read ECONNRESET (simulated)') });
      expect(lines.filter((l) => l.log)).toEqual([
        expect.objectContaining({ log: 'uncaught exception in sync faulty: it reconnects and retries', syncId: 'faulty' }),
      ]);
      expect(statuses('healthy').map((s) => s.state)).not.toContain('retrying');
      expect(statuses('healthy').at(-1)?.state).toBe('idle');
    } finally {
      child.kill('SIGKILL');
      await exited;
    }
  });
});
