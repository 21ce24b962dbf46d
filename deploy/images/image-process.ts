// Runs a built image's entrypoint from the image's own filesystem, for machines where podman builds
// images but cannot run containers (its OCI runtime's setrlimit is refused): a podman container is
// created and mounted read-write, then its entrypoint runs there under chroot, in a mount namespace of
// its own (the host's /dev bound, a /proc), as the image's user, with the image's environment and working
// directory plus the given variables, on the host's network.
import { execFile, spawn, type ChildProcess } from 'node:child_process';
import { closeSync, fchownSync, openSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';

const run = promisify(execFile);

/** What an image says about how it runs (`podman image inspect`). */
export interface ImageConfig {
  entrypoint: string[];
  cmd: string[];
  env: Record<string, string>;
  workingDir: string;
  user: string;
  sizeBytes: number;
}

export async function imageConfig(image: string): Promise<ImageConfig> {
  const [inspected] = JSON.parse((await run('podman', ['image', 'inspect', image], { maxBuffer: 16 << 20 })).stdout) as Array<{
    Size: number;
    Config: { Entrypoint?: string[] | null; Cmd?: string[] | null; Env?: string[] | null; WorkingDir?: string; User?: string };
  }>;
  const config = inspected!.Config;
  return {
    entrypoint: config.Entrypoint ?? [],
    cmd: config.Cmd ?? [],
    env: Object.fromEntries((config.Env ?? []).map((pair) => [pair.slice(0, pair.indexOf('=')), pair.slice(pair.indexOf('=') + 1)])),
    workingDir: config.WorkingDir || '/',
    user: config.User || 'root',
    sizeBytes: inspected!.Size,
  };
}

/** `name` or `uid[:gid]` of an image's USER, as numbers from the image's own /etc/passwd. */
export function resolveUser(root: string, user: string): { uid: number; gid: number } {
  const [name, group] = user.split(':');
  const entry = readFileSync(join(root, 'etc/passwd'), 'utf8')
    .split('\n')
    .map((line) => line.split(':'))
    .find((fields) => fields[0] === name || fields[2] === name);
  if (!entry) {
    if (/^\d+$/.test(name!)) return { uid: Number(name), gid: group && /^\d+$/.test(group) ? Number(group) : Number(name) };
    throw new Error(`user ${name} is not in the image's /etc/passwd`);
  }
  return { uid: Number(entry[2]), gid: group && /^\d+$/.test(group) ? Number(group) : Number(entry[3]) };
}

// In the new mount namespace: the host's /dev and a /proc inside the image's root, then chroot to it.
const ENTER = 'mount --rbind /dev "$1/dev" && mount -t proc proc "$1/proc" && shift && exec chroot "$@"';

/** An image's entrypoint running from the image's filesystem; the process is the entrypoint itself (no wrapper stays). */
export class ImageProcess {
  readonly exited: Promise<number | null>;
  /** stdout and stderr go to a file, as a container runtime's logs do: a socket (Node's pipes) cannot be reopened as /dev/stdout. */
  private readonly logFile: string;
  readonly container: string;
  /** The image's filesystem on the host (read-write: the container's layer). */
  readonly root: string;
  private readonly child: ChildProcess;

  private constructor(container: string, root: string, config: ImageConfig, env: Record<string, string>) {
    this.container = container;
    this.root = root;
    const { uid, gid } = resolveUser(root, config.user);
    const environment = { ...config.env, ...env };
    const args = ['--mount', 'sh', '-c', ENTER, 'sh', root, `--userspec=${uid}:${gid}`, root, '/usr/bin/env', '-i', '-C', config.workingDir];
    args.push(...Object.entries(environment).map(([key, value]) => `${key}=${value}`), ...config.entrypoint, ...config.cmd);
    this.logFile = join(tmpdir(), `${container}.log`);
    const log = openSync(this.logFile, 'w');
    try {
      // The image's user may reopen it as /dev/stdout (nginx's access_log does).
      fchownSync(log, uid, gid);
      this.child = spawn('unshare', args, { stdio: ['ignore', log, log] });
    } finally {
      closeSync(log);
    }
    this.exited = new Promise((resolveExit) => this.child.once('exit', (code, signal) => resolveExit(code ?? (signal ? -1 : null))));
  }

  /** Creates and mounts a container of `image`, then starts its entrypoint with `env` on top of the image's (and `command` instead of its CMD, as compose's `command:`). */
  static async start(
    image: string,
    name: string,
    env: Record<string, string>,
    prepare?: (root: string) => Promise<void>,
    command?: string[],
  ): Promise<ImageProcess> {
    const container = `idra-image-test-${name}-${process.pid}`;
    await run('podman', ['rm', '--force', container]).catch(() => undefined);
    await run('podman', ['create', '--name', container, image]);
    const root = (await run('podman', ['mount', container])).stdout.trim();
    await prepare?.(root);
    const config = await imageConfig(image);
    return new ImageProcess(container, root, command ? { ...config, cmd: command } : config, env);
  }

  /** What the process wrote so far, by line. */
  get output(): string[] {
    return readFileSync(this.logFile, 'utf8')
      .split('\n')
      .filter((line) => line !== '');
  }

  get pid(): number {
    return this.child.pid!;
  }

  /** The running process's real user and group ids, as the kernel has them. */
  ids(): { uid: number; gid: number } {
    const status = readFileSync(`/proc/${this.pid}/status`, 'utf8');
    return { uid: Number(/^Uid:\s+(\d+)/m.exec(status)![1]), gid: Number(/^Gid:\s+(\d+)/m.exec(status)![1]) };
  }

  /** Sends `signal` (as an orchestrator stopping the container would) and returns the exit code. */
  async stop(signal: NodeJS.Signals = 'SIGTERM'): Promise<number | null> {
    if (this.child.exitCode === null && this.child.signalCode === null) this.child.kill(signal);
    return this.exited;
  }

  /** Stops the process if it still runs, then unmounts and removes the container. */
  async remove(): Promise<void> {
    if (this.child.exitCode === null && this.child.signalCode === null) {
      this.child.kill('SIGKILL');
      await this.exited;
    }
    await run('podman', ['umount', this.container]).catch(() => undefined);
    await run('podman', ['rm', '--force', this.container]).catch(() => undefined);
    rmSync(this.logFile, { force: true });
  }
}
