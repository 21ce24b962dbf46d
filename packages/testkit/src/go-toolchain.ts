import { execFile } from 'node:child_process';
import { accessSync, constants } from 'node:fs';
import { chmod, readdir, rm, writeFile } from 'node:fs/promises';
import { arch } from 'node:os';
import { delimiter, join } from 'node:path';
import { promisify } from 'node:util';
import { findExecutable } from './internal/executables.ts';
import { provisionOnce, runBuild, testkitCacheDir, type ProvisionResult } from './internal/provision-cache.ts';

const run = promisify(execFile);

/**
 * The official Go release fetched when the machine has no Go this recent: FerretDB's go.mod says
 * `go 1.24` (Debian 12's golang is 1.19 and fails with `package cmp … is not in GOROOT`).
 */
export const GO_TOOLCHAIN = 'go1.24.4';
const MINIMUM: readonly [number, number] = [1, 24];

/** Where Go toolchains are looked for besides PATH: the upstream tarball's usual home and Debian's versioned dirs. */
const GO_DIRS = ['/usr/local/go/bin', '/usr/lib/go/bin'];

/** A Go toolchain the testkit builds with. */
export interface GoToolchain extends ProvisionResult {
  /** The `go` executable. */
  go: string;
  /** `go1.26.8`. */
  version: string;
}

/** `go1.26.8` → [1, 26]; undefined for anything else. */
function parseGoVersion(version: string): [number, number] | undefined {
  const match = /^go(\d+)\.(\d+)/.exec(version);
  return match ? [Number(match[1]), Number(match[2])] : undefined;
}

function recentEnough(version: string): boolean {
  const parsed = parseGoVersion(version);
  return parsed !== undefined && (parsed[0] > MINIMUM[0] || (parsed[0] === MINIMUM[0] && parsed[1] >= MINIMUM[1]));
}

async function goVersion(go: string): Promise<string | undefined> {
  try {
    // GOTOOLCHAIN=local: the version of this binary, never one it would switch to.
    const { stdout } = await run(go, ['env', 'GOVERSION'], { env: { ...process.env, GOTOOLCHAIN: 'local' }, timeout: 30_000 });
    return stdout.trim();
  } catch {
    return undefined;
  }
}

function goCandidates(searchDirs: readonly string[]): string[] {
  const found: string[] = [];
  for (const dir of searchDirs) {
    try {
      accessSync(join(dir, 'go'), constants.X_OK);
      found.push(join(dir, 'go'));
    } catch {
      // no go here
    }
  }
  return found;
}

/** The first proxy URL of GOPROXY (`https://proxy.golang.org,direct` → `https://proxy.golang.org`). */
export function goProxyUrl(goproxy: string | undefined): string {
  const first = (goproxy ?? '')
    .split(/[,|]/)
    .map((entry) => entry.trim())
    .find((entry) => /^https?:\/\//.test(entry));
  return (first ?? 'https://proxy.golang.org').replace(/\/+$/, '');
}

function goArch(): string {
  const map: Record<string, string> = { x64: 'amd64', arm64: 'arm64' };
  const goarch = map[arch()];
  if (!goarch) throw new Error(`no Go toolchain for the ${arch()} architecture: install Go ≥ ${MINIMUM.join('.')} from go.dev and put it on PATH`);
  return goarch;
}

/**
 * Downloads the official toolchain `GO_TOOLCHAIN` into the testkit cache (the Go module proxy serves
 * releases as the module `golang.org/toolchain`) unless it is there; returns its `go`.
 */
export async function downloadGoToolchain(goproxy = process.env['GOPROXY']): Promise<GoToolchain> {
  const platform = `linux-${goArch()}`;
  const module = `golang.org/toolchain@v0.0.1-${GO_TOOLCHAIN}.${platform}`;
  const url = `${goProxyUrl(goproxy)}/golang.org/toolchain/@v/v0.0.1-${GO_TOOLCHAIN}.${platform}.zip`;
  const unzip = findExecutable('unzip', 'unzip');
  const result = await provisionOnce(join(testkitCacheDir(), `go-${GO_TOOLCHAIN}.${platform}`), async (staging) => {
    const response = await fetch(url);
    if (!response.ok) throw new Error(`downloading the Go toolchain: GET ${url} answered ${response.status} ${response.statusText}`);
    const zip = join(staging, 'toolchain.zip');
    await writeFile(zip, Buffer.from(await response.arrayBuffer()));
    await runBuild({ server: 'go', command: unzip, args: ['-q', zip, '-d', staging], cwd: staging, logFile: join(staging, 'unzip.log') });
    await rm(zip);
    // Module zips carry no file modes: the commands in bin/ and pkg/tool/<platform>/ are made executable again.
    const root = join(staging, module);
    const toolDir = join(root, 'pkg', 'tool', platform.replace('-', '_'));
    for (const dir of [join(root, 'bin'), toolDir]) {
      for (const name of await readdir(dir)) await chmod(join(dir, name), 0o755);
    }
  });
  const go = join(result.path, module, 'bin', 'go');
  return { ...result, go, version: GO_TOOLCHAIN };
}

/**
 * A Go toolchain ≥ 1.24 for the testkit's builds: the machine's own when one on PATH (or in
 * /usr/local/go) is recent enough, otherwise the official release from the Go module proxy, cached.
 * `searchDirs` replaces PATH and the usual dirs (tests).
 */
export async function provisionGo(searchDirs?: readonly string[]): Promise<GoToolchain> {
  const started = performance.now();
  const dirs = searchDirs ?? [...(process.env['PATH'] ?? '').split(delimiter).filter((dir) => dir !== ''), ...GO_DIRS];
  let goproxy = process.env['GOPROXY'];
  for (const go of goCandidates(dirs)) {
    const version = await goVersion(go);
    if (version && recentEnough(version)) return { go, version, path: go, built: false, ms: performance.now() - started };
    // An older Go still knows which proxy this machine is meant to use.
    if (version && !goproxy) goproxy = (await run(go, ['env', 'GOPROXY']).catch(() => ({ stdout: '' }))).stdout.trim() || undefined;
  }
  return downloadGoToolchain(goproxy);
}
