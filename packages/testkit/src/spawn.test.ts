import { describe, expect, it } from 'vitest';
import { SpawnedProcess, spawnUntilReady } from './spawn.ts';
import { until } from './until.ts';

const node = (code: string) => [process.execPath, ['-e', code]] as const;

describe('until and spawnUntilReady', () => {
  it('until resolves with the first value the probe gives, and names what it waited for when time runs out', async () => {
    let n = 0;
    expect(await until('n to reach 3', () => ++n >= 3 && n, { intervalMs: 1 })).toBe(3);
    await expect(until('a value that never comes', () => false, { timeoutMs: 50, intervalMs: 5 })).rejects.toThrow(
      'timed out after 50 ms waiting for a value that never comes',
    );
    // A probe that throws is "not yet" (a server refusing connections while it starts); its last error is named.
    let tries = 0;
    expect(await until('a server', () => (++tries < 3 ? Promise.reject(new Error('ECONNREFUSED')) : 'up'), { intervalMs: 1 })).toBe('up');
    await expect(until('a server', () => Promise.reject(new Error('ECONNREFUSED')), { timeoutMs: 30, intervalMs: 5 })).rejects.toThrow(
      'timed out after 30 ms waiting for a server (last error: ECONNREFUSED)',
    );
  });

  it('starts a program and resolves once its output says it is ready; lines are parsed as they come', async () => {
    const proc = await spawnUntilReady(...node('console.log(JSON.stringify({ msg: "ready", port: 1 })); setInterval(() => {}, 1000)'), { ready: /"ready"/ });
    expect(proc.lines).toEqual([{ msg: 'ready', port: 1 }]);
    expect(proc.running).toBe(true);
    expect(await proc.stop()).toBeNull();
  });

  it('fails with the output when the program exits before it is ready, and when it is never ready', async () => {
    await expect(spawnUntilReady(...node('console.error("no config"); process.exit(2)'), { ready: /ready/, what: 'the agent' })).rejects.toThrow(
      /exited \(code 2\) before the agent; its output:\nno config/,
    );
    const slow = new SpawnedProcess(...node('setInterval(() => {}, 1000)'));
    await expect(slow.waitFor('a probe that never passes', () => false, 100)).rejects.toThrow(/timed out after 100 ms waiting for a probe that never passes/);
    expect(await slow.stop('SIGKILL')).toBeNull();
  });
});
