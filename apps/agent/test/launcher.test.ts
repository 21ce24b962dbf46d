import { mkdir, readFile, rmdir, writeFile } from 'node:fs/promises';
import { existsSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { describe, expect, it } from 'vitest';
import { SpawnedProcess, tempDir } from '@idra/testkit';

const LAUNCHER = resolve(import.meta.dirname, '../bin/idra-agent');

/** V8's heap limit is the old generation plus the young one (3 × the 16 MB semi-space). */
const YOUNG_MB = 48;

/** Runs the launcher on a syncs file with nothing enabled (the agent logs its heap limit and exits 4); its exit code and log. */
async function launch(env: Record<string, string>, wrap: (argv: string[]) => string[] = (argv) => argv) {
  const dir = await tempDir('idra-launcher-');
  const config = join(dir, 'syncs.json');
  const sqlite = { connector: 'sqlite', connection: { file: join(dir, 'db.sqlite') }, table: 't' };
  await writeFile(
    config,
    JSON.stringify({ syncs: [{ id: 's', enabled: false, source: sqlite, destination: { ...sqlite, table: 'u' }, mode: 'full', keyColumns: ['id'] }] }),
  );
  const [command, ...args] = wrap([LAUNCHER, '--config', config, '--state-dir', join(dir, 'state')]);
  const { NODE_OPTIONS: _, ...inherited } = process.env;
  const agent = new SpawnedProcess(command!, args, { env: { ...inherited, IDRA_LOG_FORMAT: 'json', IDRA_SQLITE_ROOTS: tmpdir(), ...env } });
  const code = await agent.exited;
  const heap = agent.lines.find((l) => typeof l.heapLimitMb === 'number')?.heapLimitMb as number | undefined;
  return { code, heap, output: agent.output() };
}

/** The memory cgroup (v1) this process is in, when it can make a child in it (root, cgroup v1 mounted read-write). */
async function ownMemoryCgroup(): Promise<string | undefined> {
  const line = (await readFile('/proc/self/cgroup', 'utf8')).split('\n').find((l) => /^\d+:memory:/.test(l));
  const dir = line && join('/sys/fs/cgroup/memory', line.split(':')[2]!);
  if (!dir || !existsSync(join(dir, 'cgroup.procs'))) return undefined;
  const probe = join(dir, `idra-probe-${process.pid}`);
  try {
    await mkdir(probe);
    await rmdir(probe);
    return dir;
  } catch {
    return undefined;
  }
}
const cgroup = await ownMemoryCgroup();

describe('apps/agent/bin/idra-agent: one memory knob, sized from the container limit by default', () => {
  it('IDRA_AGENT_MAX_HEAP_MB sets the old generation', async () => {
    const { code, heap } = await launch({ IDRA_AGENT_MAX_HEAP_MB: '700' });
    expect(code).toBe(4);
    expect(heap).toBe(700 + YOUNG_MB);
  });

  it('a --max-old-space-size in NODE_OPTIONS is honoured, not overridden', async () => {
    const { code, heap } = await launch({ NODE_OPTIONS: '--max-old-space-size=1024', IDRA_AGENT_MAX_HEAP_MB: '300' });
    expect(code).toBe(4);
    expect(heap).toBe(1024 + YOUNG_MB);
  });

  it('without a knob or a memory limit: 192 MB, the measured default for one sync', async () => {
    // This test process itself may run under a limit; the check below says what the agent then gets.
    if (cgroup) {
      const limit = Number((await readFile(join(cgroup, 'memory.limit_in_bytes'), 'utf8')).trim());
      if (limit < 2 ** 50) return expect((await launch({})).heap).toBe(Math.floor((limit / 2 ** 20) * 0.6) + YOUNG_MB);
    }
    expect((await launch({})).heap).toBe(192 + YOUNG_MB);
  });

  it('a knob that is not a number of megabytes ≥ 64 stops the launcher with exit 2, naming it', async () => {
    for (const bad of ['lots', '1.5', '32']) {
      const { code, output } = await launch({ IDRA_AGENT_MAX_HEAP_MB: bad });
      expect(code, bad).toBe(2);
      expect(output).toContain(`IDRA_AGENT_MAX_HEAP_MB must be a whole number of megabytes, at least 64 (got "${bad}")`);
    }
  });

  it.skipIf(!cgroup)(
    cgroup
      ? 'in a cgroup limited to 512 MiB (as a container limit is): 60 % of it, 307 MB'
      : 'cgroup limit (SKIPPED: no writable cgroup v1 memory controller here)',
    async () => {
      const child = join(cgroup!, `idra-launcher-${process.pid}`);
      await mkdir(child);
      try {
        await writeFile(join(child, 'memory.limit_in_bytes'), String(512 * 2 ** 20));
        // The shell joins the cgroup, then becomes the launcher: Node sees the limit as a container's process would.
        const { code, heap } = await launch({}, (argv) => ['sh', '-c', `echo $$ > ${join(child, 'cgroup.procs')} && exec "$@"`, 'sh', ...argv]);
        expect(code).toBe(4);
        expect(heap).toBe(307 + YOUNG_MB);
      } finally {
        await rmdir(child);
      }
    },
  );
});
