// The container images, built and run: `./idra test-images` (pnpm test:images; root, podman, debootstrap).
// Builds deploy/docker/*.Dockerfile with podman on local base images (deploy/images/base-images.ts), then
// runs each image's entrypoint from its filesystem (image-process.ts) with the environment compose gives
// it, against a throwaway etcd secured as compose runs it (client and peer TLS from deploy/etcd/gen-certs.sh,
// auth set by the etcd-access job).
import { execFile } from 'node:child_process';
import { existsSync, readFileSync, readdirSync } from 'node:fs';
import { chown, copyFile, mkdir, writeFile } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import { setTimeout as delay } from 'node:timers/promises';
import { promisify } from 'node:util';
import Database from 'better-sqlite3';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parse } from 'yaml';
import { connectEtcd } from '@idra/core';
import { freePort, startEtcd, tempDir, type EtcdServer } from '@idra/testkit';
import { DEBIAN_IMAGE, digestReference, ensureNodeImage, runLogged } from './base-images.ts';
import { ImageProcess, imageConfig, resolveUser } from './image-process.ts';

const run = promisify(execFile);
const ROOT = resolve(import.meta.dirname, '../..');
const log = (line: string) => process.stdout.write(`[images] ${line}\n`);

const IMAGES = {
  agent: { dockerfile: 'deploy/docker/agent.Dockerfile', tag: 'localhost/idra-agent:test', service: 'agent' },
  'api-server': { dockerfile: 'deploy/docker/api-server.Dockerfile', tag: 'localhost/idra-api-server:test', service: 'api-server' },
  'web-ui': { dockerfile: 'deploy/docker/web-ui.Dockerfile', tag: 'localhost/idra-web-ui:test', service: 'web-ui' },
} as const;
type ImageName = keyof typeof IMAGES;

/** The values compose takes from deploy/.env, as a user would set them. */
const DOT_ENV: Record<string, string> = {
  IDRA_SECRET_KEY: 'image-test-secret-key-0123456789',
  IDRA_JWT_SECRET: 'image-test-jwt-secret-0123456789',
  IDRA_ADMIN_PASSWORD: 'Image-Test-Adm1n',
  IDRA_ETCD_ROOT_PASSWORD: 'image-test-etcd-root-0123',
  IDRA_ETCD_AGENT_PASSWORD: 'image-test-etcd-agent-0123',
  IDRA_ETCD_API_PASSWORD: 'image-test-etcd-api-0123',
};

/** A service of deploy/compose.yaml. */
function composeService(service: string): { environment?: Record<string, string>; command?: string[] } {
  const compose = parse(readFileSync(join(ROOT, 'deploy/compose.yaml'), 'utf8'), { merge: true }) as {
    services: Record<string, { environment?: Record<string, string>; command?: string[] }>;
  };
  return compose.services[service]!;
}

/** A service's `environment` in deploy/compose.yaml with `${VAR}`, `${VAR:-default}` and `${VAR:?message}` filled from DOT_ENV. */
function composeEnvironment(service: string): Record<string, string> {
  const environment = composeService(service).environment ?? {};
  return Object.fromEntries(
    Object.entries(environment).map(([key, value]) => [
      key,
      String(value).replace(/\$\{([A-Z0-9_]+)(?::?([-?])([^}]*))?\}/g, (_, name: string, kind?: string, word?: string) => {
        if (DOT_ENV[name] !== undefined) return DOT_ENV[name]!;
        if (kind === '-') return word ?? '';
        throw new Error(`compose service ${service} needs ${name}: ${word ?? ''}`);
      }),
    ]),
  );
}

async function until<T>(what: string, check: () => Promise<T | false | undefined>, output: () => string[], ms = 60_000): Promise<T> {
  const deadline = Date.now() + ms;
  for (;;) {
    const value = await check().catch(() => undefined);
    if (value) return value;
    if (Date.now() > deadline) throw new Error(`${what}: not within ${ms / 1000} s. Output:\n${output().slice(-40).join('\n')}`);
    await delay(250);
  }
}

/**
 * The workspace's development-only packages: every package.json's devDependencies that neither a
 * package.json nor a package of the lockfile depends on (type packages aside: mongodb depends on @types/* itself).
 */
function devOnlyPackages(): string[] {
  const manifests = ['package.json', ...['apps', 'packages'].flatMap((dir) => readdirSync(join(ROOT, dir)).map((name) => join(dir, name, 'package.json')))]
    .filter((path) => existsSync(join(ROOT, path)))
    .map((path) => JSON.parse(readFileSync(join(ROOT, path), 'utf8')) as { dependencies?: Record<string, string>; devDependencies?: Record<string, string> });
  const lock = parse(readFileSync(join(ROOT, 'pnpm-lock.yaml'), 'utf8')) as {
    importers?: Record<string, { dependencies?: Record<string, { version: string }> }>;
    snapshots?: Record<string, { dependencies?: Record<string, string>; optionalDependencies?: Record<string, string> } | null>;
  };
  const dev = new Set(manifests.flatMap((m) => Object.keys(m.devDependencies ?? {})));
  // What production needs: the manifests' dependencies and, through the lockfile, everything they depend on
  // (a development tool's own dependencies, e.g. typescript under openapi-typescript, are not reached).
  const snapshots = lock.snapshots ?? {};
  const prod = new Set<string>();
  const pending = Object.values(lock.importers ?? {}).flatMap((i) =>
    Object.entries(i.dependencies ?? {}).map(([name, d]) => [name, d.version] as [string, string]),
  );
  const seen = new Set<string>();
  while (pending.length > 0) {
    const [name, version] = pending.pop()!;
    prod.add(name);
    const key = `${name}@${version}`;
    if (seen.has(key)) continue;
    seen.add(key);
    const snapshot = snapshots[key];
    pending.push(...Object.entries({ ...snapshot?.dependencies, ...snapshot?.optionalDependencies }));
  }
  return [...dev].filter((name) => !prod.has(name) && !name.startsWith('@types/'));
}

/** Development-only packages found in an image's node_modules store (`.pnpm/<name with + for />@<version>`). */
function devDependenciesIn(root: string): string[] {
  const store = readdirSync(join(root, 'app/node_modules/.pnpm'));
  const dev = devOnlyPackages();
  expect(dev).toEqual(expect.arrayContaining(['vitest', 'typescript', '@idra/testkit']));
  return store.filter((entry) => dev.some((name) => entry.startsWith(`${name.replace('/', '+')}@`)));
}

function testFilesIn(dir: string): string[] {
  return readdirSync(dir, { recursive: true, encoding: 'utf8' }).filter((path) => /\.test\.ts$/.test(path) && !path.includes('node_modules'));
}

describe('container images: built with podman, each entrypoint run against etcd', () => {
  const sizes: Partial<Record<ImageName, number>> = {};
  let etcd: EtcdServer;
  let certs: string;
  let api: ImageProcess;
  let apiUrl: string;
  const running: ImageProcess[] = [];

  beforeAll(async () => {
    // Each change of the sources leaves the previous images untagged (~3 GB a run): those of more than a day ago go.
    await runLogged('podman', ['image', 'prune', '--force', '--filter', 'until=24h'], log);
    // The bases by digest, as docs/operations.md tells a platform team to pin them: the Dockerfiles' FROM ${…} takes that form.
    const nodeImage = await digestReference(await ensureNodeImage(log));
    const runtimeImage = await digestReference(DEBIAN_IMAGE);
    // One after the other: each build wants both cores.
    for (const [name, image] of Object.entries(IMAGES) as Array<[ImageName, (typeof IMAGES)[ImageName]]>) {
      const started = performance.now();
      log(`podman build ${image.dockerfile} (BASE_IMAGE=${nodeImage}${name === 'web-ui' ? `, RUNTIME_IMAGE=${runtimeImage}` : ''})`);
      const args = [
        'build',
        '--isolation',
        'chroot',
        '--layers',
        '-f',
        image.dockerfile,
        '--build-arg',
        `BASE_IMAGE=${nodeImage}`,
        '--build-arg',
        `RUNTIME_IMAGE=${runtimeImage}`,
        '-t',
        image.tag,
        '.',
      ];
      await runLogged('podman', args, () => undefined, { cwd: ROOT });
      sizes[name] = (await imageConfig(image.tag)).sizeBytes;
      log(`${image.tag}: ${(sizes[name]! / 1e6).toFixed(0)} MB, built in ${((performance.now() - started) / 1000).toFixed(0)} s`);
    }
    await mkdir(join(ROOT, 'test-artifacts'), { recursive: true });
    await writeFile(join(ROOT, 'test-artifacts/image-sizes.json'), JSON.stringify(sizes, null, 2) + '\n');
    certs = join(await tempDir('idra-image-etcd-'), 'certs');
    await run(join(ROOT, 'deploy/etcd/gen-certs.sh'), [certs, 'etcd1']);
    etcd = await startEtcd({ tls: { ca: join(certs, 'ca.crt'), cert: join(certs, 'tls.crt'), key: join(certs, 'tls.key') } });
  });

  afterAll(async () => {
    for (const process of running) await process.remove();
    await etcd?.stop();
  });

  /** Runs `name`'s image as compose's `service` (by default the image's own) with compose's environment and etcd's CA where compose mounts it. */
  async function start(
    name: ImageName,
    env: Record<string, string>,
    prepare?: (root: string) => Promise<void>,
    service: string = IMAGES[name].service,
  ): Promise<ImageProcess> {
    const process = await ImageProcess.start(
      IMAGES[name].tag,
      service,
      { ...composeEnvironment(service), ...env },
      async (root) => {
        await mkdir(join(root, 'etc/idra/etcd-tls'), { recursive: true });
        await copyFile(join(certs, 'ca.crt'), join(root, 'etc/idra/etcd-tls/ca.crt'));
        await prepare?.(root);
      },
      composeService(service).command,
    );
    running.push(process);
    return process;
  }

  it('etcd-access (the API image, as compose’s one-shot job): users and roles set, auth on', async () => {
    const job = await start('api-server', { IDRA_ETCD_ENDPOINTS: etcd.endpoints.join(',') }, undefined, 'etcd-access');
    expect(await job.exited, job.output.join('\n')).toBe(0);
    const anonymous = connectEtcd({ endpoints: etcd.endpoints, tls: { ca: join(certs, 'ca.crt') } });
    try {
      await expect(anonymous.ns.get('syncs/x').string()).rejects.toThrow(/user name is empty|permission denied/i);
    } finally {
      anonymous.close();
    }
  });

  it('reports sizes; the Node images hold production dependencies only and no tests; each runs as a non-root user', async () => {
    for (const name of Object.keys(IMAGES) as ImageName[]) {
      expect(sizes[name], name).toBeGreaterThan(0);
      expect((await imageConfig(IMAGES[name].tag)).user, name).toBe(name === 'web-ui' ? '101' : '1000:1000');
    }
    for (const name of ['agent', 'api-server'] as const) {
      const container = `idra-image-inspect-${name}-${process.pid}`;
      await run('podman', ['create', '--name', container, IMAGES[name].tag]);
      try {
        const root = (await run('podman', ['mount', container])).stdout.trim();
        // USER 1000:1000 is the base's user `node` (its name and home), which owns what the Dockerfile chowns to 1000:1000.
        expect(resolveUser(root, 'node'), name).toEqual({ uid: 1000, gid: 1000 });
        expect(devDependenciesIn(root), name).toEqual([]);
        // Nor the other apps' packages (pnpm fetch fills the virtual store with the web UI's React too).
        expect(
          readdirSync(join(root, 'app/node_modules/.pnpm')).filter((entry) => /^(react|react-dom|@tanstack\+react-query)@/.test(entry)),
          name,
        ).toEqual([]);
        expect(testFilesIn(join(root, 'app')), name).toEqual([]);
        expect(readdirSync(join(root, 'app/apps')), name).toEqual([name]);
      } finally {
        await run('podman', ['umount', container]).catch(() => undefined);
        await run('podman', ['rm', '--force', container]).catch(() => undefined);
      }
    }
  });

  it('API server: the entrypoint with compose’s environment answers /healthz and /readyz, and admin logs in', async () => {
    const port = await freePort();
    api = await start('api-server', { IDRA_ETCD_ENDPOINTS: etcd.endpoints.join(','), IDRA_API_HOST: '127.0.0.1', IDRA_API_PORT: String(port) });
    apiUrl = `http://127.0.0.1:${port}`;
    const output = () => api.output;
    await until('/healthz 200', async () => (await fetch(`${apiUrl}/healthz`)).ok, output);
    await until('/readyz 200 (etcd reachable)', async () => (await fetch(`${apiUrl}/readyz`)).ok, output);
    expect(api.ids().uid).toBe(1000);
    const login = await fetch(`${apiUrl}/api/v1/auth/login`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ username: 'admin', password: DOT_ENV.IDRA_ADMIN_PASSWORD }),
    });
    expect(login.status, api.output.join('\n')).toBe(200);
    expect(await login.json()).toMatchObject({ token: expect.any(String), user: { name: 'admin', role: 'admin' } });
  });

  it('agent: registers in etcd and runs a SQLite → SQLite sync created through the API server, as uid 1000; SIGTERM stops it with exit 0', async () => {
    const token = await adminToken();
    const rows = 2500;
    const agentId = `image-test-agent-${process.pid}`;
    const agent = await start(
      'agent',
      { IDRA_ETCD_ENDPOINTS: etcd.endpoints.join(','), IDRA_HTTP_PORT: String(await freePort()), IDRA_AGENT_ID: agentId },
      async (root) => {
        // The sync's files live in the agent's state dir, which the image gives to its user.
        const source = new Database(join(root, 'var/lib/idra/source.db'));
        source.exec('create table orders (id integer primary key, customer text not null, amount text not null)');
        const insert = source.prepare('insert into orders (id, customer, amount) values (?, ?, ?)');
        source.transaction(() => {
          for (let id = 1; id <= rows; id++) insert.run(id, `customer-${id % 97}`, (id * 1.25).toFixed(2));
        })();
        source.close();
        await chown(join(root, 'var/lib/idra/source.db'), 1000, 1000);
      },
    );
    const output = () => agent.output;
    const agentEnv = composeEnvironment('agent');
    const etcdClient = connectEtcd({
      endpoints: etcd.endpoints,
      prefix: agentEnv.IDRA_ETCD_PREFIX!,
      tls: { ca: join(certs, 'ca.crt') },
      username: agentEnv.IDRA_ETCD_USERNAME,
      password: agentEnv.IDRA_ETCD_PASSWORD,
    });
    try {
      await until('agents/<id> in etcd', async () => (await etcdClient.ns.get(`agents/${agentId}`).string()) !== null, output);
      const sync = {
        id: 'image-orders',
        source: { connector: 'sqlite', connection: { file: '/var/lib/idra/source.db' }, table: 'orders' },
        destination: { connector: 'sqlite', connection: { file: '/var/lib/idra/destination.db' }, table: 'orders_copy' },
        mode: 'id',
        cursorColumn: 'id',
        keyColumns: ['id'],
        batchSize: 1000,
        pollIntervalMs: '1s',
      };
      const created = await fetch(`${apiUrl}/api/v1/syncs`, {
        method: 'POST',
        headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json' },
        body: JSON.stringify(sync),
      });
      expect(created.status, await created.clone().text()).toBe(201);
      const destination = join(agent.root, 'var/lib/idra/destination.db');
      await until(
        `${rows} rows in the destination`,
        async () => {
          const db = new Database(destination, { readonly: true, fileMustExist: true });
          try {
            return (db.prepare('select count(*) as n from orders_copy').get() as { n: number }).n === rows;
          } finally {
            db.close();
          }
        },
        output,
      );
      expect(agent.ids()).toEqual({ uid: 1000, gid: 1000 });
      expect(await agent.stop('SIGTERM'), agent.output.join('\n')).toBe(0);
      // SIGTERM revoked the agent's lease: its registration is gone at once.
      expect(await etcdClient.ns.get(`agents/${agentId}`).string()).toBeNull();
    } finally {
      etcdClient.close();
    }
  });

  it('web UI: nginx serves the app (client routes too) and proxies /api/ to the API server, as uid 101', async () => {
    const port = await freePort();
    const web = await start('web-ui', { IDRA_API_UPSTREAM: apiUrl.replace('http://', ''), IDRA_WEB_PORT: String(port) });
    const url = `http://127.0.0.1:${port}`;
    await until(
      '/healthz 200',
      async () => (await fetch(`${url}/healthz`)).ok,
      () => web.output,
    );
    const index = await fetch(`${url}/`);
    expect(index.status).toBe(200);
    expect(await index.text()).toContain('<div id="root"></div>');
    expect(await (await fetch(`${url}/syncs/some-sync`)).text()).toContain('<div id="root"></div>');
    const unauthenticated = await fetch(`${url}/api/v1/auth/me`);
    expect(unauthenticated.status).toBe(401);
    expect(await unauthenticated.json()).toMatchObject({ code: expect.stringMatching(/^IDRA_ERR_/) });
    const login = await fetch(`${url}/api/v1/auth/login`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ username: 'admin', password: DOT_ENV.IDRA_ADMIN_PASSWORD }),
    });
    expect(login.status).toBe(200);
    expect(web.ids().uid).toBe(101);
    expect(await web.stop('SIGTERM')).toBe(0);
  });

  it('API server: SIGTERM stops it with exit 0', async () => {
    expect(await api.stop('SIGTERM'), api.output.join('\n')).toBe(0);
  });

  async function adminToken(): Promise<string> {
    const response = await fetch(`${apiUrl}/api/v1/auth/login`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ username: 'admin', password: DOT_ENV.IDRA_ADMIN_PASSWORD }),
    });
    return ((await response.json()) as { token: string }).token;
  }
});
