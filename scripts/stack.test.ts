import { existsSync, readFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { describe, expect, it } from 'vitest';
import { connectEtcd, KEYS } from '@idra/core';
import { SpawnedProcess, tempDir, until } from '@idra/testkit';
import type { StackRun } from './stack.ts';

const STACK = resolve(import.meta.dirname, 'stack.ts');

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}

describe('pnpm stack (scripts/stack.ts)', () => {
  it('starts a 3-member etcd and 2 agents that register in etcd; SIGINT stops every process it started', async () => {
    const dir = await tempDir('idra-stack-');
    // The API server and web UI are other apps' business; this checks what the stack itself wires.
    const stack = new SpawnedProcess(process.execPath, [STACK, '--agents', '2', '--dir', dir, '--free-ports', '--no-api', '--no-web']);
    let run: StackRun | undefined;
    try {
      await stack.waitFor('the stack to be up', /Ctrl-C stops everything/, 60_000);
      run = JSON.parse(readFileSync(join(dir, 'run.json'), 'utf8')) as StackRun;
      expect(run.processes.map((p) => p.name).sort()).toEqual(['agent-1', 'agent-2', 'etcd1', 'etcd2', 'etcd3']);
      expect(stack.output()).toContain('skipped (--no-api)');

      const etcd = connectEtcd({ endpoints: run.etcdEndpoints, prefix: '/idra/' });
      try {
        const { members } = await etcd.client.cluster.memberList({});
        expect(members).toHaveLength(3);
        expect(new Set(members.map((m) => m.peerURLs[0])).size).toBe(3);
        const agents = await until('both agents registered', async () => {
          const keys = await etcd.ns.getAll().prefix(KEYS.agents).keys();
          return keys.length === 2 && keys.sort();
        });
        expect(agents).toEqual(['agents/stack-agent-1', 'agents/stack-agent-2']);
      } finally {
        etcd.close();
      }
      for (const agent of run.agents) expect((await fetch(agent.metricsUrl.replace('/metrics', '/readyz'))).status).toBe(200);
      for (const p of run.processes) expect(alive(p.pid), p.name).toBe(true);

      expect(await stack.stop('SIGINT')).toBe(0);
      expect(stack.output()).toContain('stack stopped');
      for (const p of run.processes) expect(alive(p.pid), `${p.name} still runs`).toBe(false);
      expect(existsSync(join(dir, 'run.json'))).toBe(false);
      // The agents stopped cleanly: each logged its graceful stop.
      for (const n of [1, 2]) expect(readFileSync(join(dir, 'logs', `agent-${n}.log`), 'utf8')).toContain('"msg":"stopped"');
    } finally {
      if (stack.running) {
        await stack.stop('SIGKILL');
        for (const p of run?.processes ?? []) if (alive(p.pid)) process.kill(p.pid, 'SIGKILL');
      }
    }
  });
});
