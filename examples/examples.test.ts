import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { setTimeout as delay } from 'node:timers/promises';
import Database from 'better-sqlite3';
import { afterEach, describe, expect, inject, it } from 'vitest';
import { ConfigStore, connectEtcd, validateSyncConfig } from '@idra/core';
import { tempDir } from '@idra/testkit';

const AGENT = resolve(import.meta.dirname, '../apps/agent/src/main.ts');
const walkthrough = JSON.parse(readFileSync(join(import.meta.dirname, 'cluster-sqlite.json'), 'utf8')) as { syncs: unknown[] };

const children: ChildProcess[] = [];
afterEach(() => {
  for (const child of children.splice(0)) if (child.exitCode === null) child.kill('SIGKILL');
});

/** An agent process in `cwd` (the directory relative paths are taken from); `output()` is what it logged so far. */
function startAgent(cwd: string, args: string[], env: Record<string, string> = {}): { child: ChildProcess; output: () => string } {
  const child = spawn(process.execPath, [AGENT, ...args], { cwd, env: { ...process.env, IDRA_LOG_FORMAT: 'json', ...env }, stdio: ['ignore', 'pipe', 'pipe'] });
  children.push(child);
  let output = '';
  child.stdout.on('data', (d: Buffer) => (output += d.toString()));
  child.stderr.on('data', (d: Buffer) => (output += d.toString()));
  return { child, output: () => output };
}

/** Polls `check` until it returns true, or fails with `what` and the agent's output after the deadline. */
async function until(what: string, check: () => boolean, output: () => string): Promise<void> {
  const deadline = Date.now() + 60_000;
  while (!check()) {
    if (Date.now() > deadline) throw new Error(`${what}: not in time\n${output()}`);
    await delay(200);
  }
}

/** Ctrl-C, then the exit code. */
function interrupt(child: ChildProcess): Promise<number | null> {
  child.kill('SIGINT');
  return new Promise((resolveExit) => (child.exitCode !== null ? resolveExit(child.exitCode) : child.once('exit', (code) => resolveExit(code))));
}

function count(file: string, table: string): number {
  if (!existsSync(file)) return 0;
  const db = new Database(file, { readonly: true });
  try {
    return (db.prepare(`select count(*) as n from ${table}`).get() as { n: number }).n;
  } catch {
    return 0;
  } finally {
    db.close();
  }
}

describe('examples/cluster-sqlite.json', () => {
  it('is valid', () => {
    const syncs = walkthrough.syncs.map((s, i) => validateSyncConfig(s, `syncs[${i}]`));
    expect(syncs.map((s) => s.mode)).toEqual(['id', 'timestamp', 'full']);
  });

  it('runs as the README walks through it: after ./idra start made the source, agents in cluster mode started from the repository root copy every order', async () => {
    const root = await tempDir('idra-walkthrough-');
    // What `./idra start` leaves behind: .idra/example/source.db with 10,000 orders.
    const example = startAgent(root, ['--example']);
    const source = join(root, '.idra/example/source.db');
    await until(
      'the example source',
      () => count(source, 'orders') >= 10_000 && count(join(root, '.idra/example/destination.db'), 'orders_copy') > 0,
      example.output,
    );
    expect(await interrupt(example.child)).toBe(0);
    const orders = count(source, 'orders');

    const prefix = `/idra-walkthrough-${process.pid}/`;
    const etcd = connectEtcd({ endpoints: inject('etcdEndpoints'), prefix });
    try {
      const store = new ConfigStore(etcd.ns);
      for (const sync of walkthrough.syncs) await store.putSync(validateSyncConfig(sync));
      const agent = startAgent(root, ['--etcd', inject('etcdEndpoints').join(','), '--prefix', prefix, '--agent-id', 'walkthrough-1', '--lease-ttl', '2s'], {
        IDRA_SQLITE_ROOTS: join(root, '.idra'),
      });
      const cluster = join(root, '.idra/example/cluster.db');
      const copied = () => [count(cluster, 'orders_copy'), count(cluster, 'orders_latest'), count(join(root, '.idra/example/cluster-full.db'), 'orders_full')];
      await until('every order in the three destination tables', () => copied().every((n) => n === orders), agent.output);
      expect(await interrupt(agent.child)).toBe(0);
    } finally {
      etcd.close();
    }
  }, 120_000);
});
