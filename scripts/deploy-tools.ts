// The tools that check deploy/ (helm, kubeconform, Kubernetes JSON schemas), kept under
// ~/.cache/idra-testkit. `node scripts/deploy-tools.ts` builds helm and kubeconform from the Go module
// proxy (cold on 2 cores: kubeconform ≈ 4 min, helm ≈ 5 min — too long for CI, which uses them only
// when a machine already has them) and installs the schemas from PyPI (seconds; tests do it themselves).
import { execFile } from 'node:child_process';
import { accessSync, constants, existsSync } from 'node:fs';
import { mkdir, readFile, readdir, rename, rm, writeFile } from 'node:fs/promises';
import { homedir } from 'node:os';
import { delimiter, join } from 'node:path';
import { promisify } from 'node:util';

const run = promisify(execFile);

export const HELM_MODULE = 'helm.sh/helm/v3/cmd/helm@v3.22.0';
export const KUBECONFORM_MODULE = 'github.com/yannh/kubeconform/cmd/kubeconform@v0.8.0';
/** PyPI package shipping the Kubernetes API's JSON schemas (and a validator) for each minor version. */
export const KUBERNETES_VALIDATE = 'kubernetes-validate==1.37.0';
/** The Kubernetes version manifests are rendered for and validated against. */
export const KUBERNETES_VERSION = '1.33.0';

/** `IDRA_TESTKIT_CACHE`, or `~/.cache/idra-testkit` (shared with packages/testkit). */
export function toolsCacheDir(): string {
  return process.env.IDRA_TESTKIT_CACHE || join(homedir(), '.cache', 'idra-testkit');
}

/** The tool's executable in the cache's bin/ or on PATH, if there is one. */
export function findTool(name: string): string | undefined {
  for (const dir of [join(toolsCacheDir(), 'bin'), ...(process.env.PATH ?? '').split(delimiter)].filter(Boolean)) {
    try {
      accessSync(join(dir, name), constants.X_OK);
      return join(dir, name);
    } catch {
      // not here
    }
  }
  return undefined;
}

/** Builds a Go command into the cache's bin/ with `go install`; returns its path and the build time. */
export async function buildGoTool(module: string): Promise<{ path: string; seconds: number }> {
  const started = performance.now();
  const bin = join(toolsCacheDir(), 'bin');
  await mkdir(bin, { recursive: true });
  await run('go', ['install', module], { env: { ...process.env, GOBIN: bin, CGO_ENABLED: '0' }, maxBuffer: 16 << 20 });
  const name = module.split('@')[0]!.split('/').at(-1)!;
  return { path: join(bin, name), seconds: Math.round((performance.now() - started) / 1000) };
}

/**
 * Installs kubernetes-validate (with its dependencies) into the cache if it is not there yet and
 * returns the directory to put on PYTHONPATH. Installs into a staging dir and renames it, so that
 * concurrent runs never see half an install.
 */
export async function provisionKubernetesValidate(): Promise<string> {
  const target = join(toolsCacheDir(), `python-${KUBERNETES_VALIDATE.replace('==', '-')}`);
  if (existsSync(join(target, 'kubernetes_validate'))) return target;
  const staging = `${target}.staging-${process.pid}`;
  await rm(staging, { recursive: true, force: true });
  try {
    await run('python3', ['-m', 'pip', 'install', '--quiet', '--disable-pip-version-check', '--no-warn-script-location', '--target', staging, KUBERNETES_VALIDATE], {
      maxBuffer: 16 << 20,
      env: { ...process.env, PIP_ROOT_USER_ACTION: 'ignore' },
    });
    await rename(staging, target).catch(async (err: NodeJS.ErrnoException) => {
      if (!existsSync(join(target, 'kubernetes_validate'))) throw err; // another run won the race: use its copy
    });
  } finally {
    await rm(staging, { recursive: true, force: true });
  }
  return target;
}

/**
 * kubernetes-validate's schemas in the layout kubeconform reads (`-schema-location`), with their
 * `/api/_definitions.json` references made absolute file URLs (kubeconform would fetch them from
 * kubernetes.io otherwise). Returns the `-schema-location` template.
 */
export async function kubeconformSchemaLocation(pythonPath: string): Promise<string> {
  const root = join(toolsCacheDir(), 'kubeconform-schemas', KUBERNETES_VALIDATE.replace('==', '-'));
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

if (import.meta.main) {
  for (const module of [KUBECONFORM_MODULE, HELM_MODULE]) {
    process.stdout.write(`building ${module} …\n`);
    const { path, seconds } = await buildGoTool(module);
    process.stdout.write(`  ${path} (${seconds} s)\n`);
  }
  process.stdout.write(`installing ${KUBERNETES_VALIDATE} …\n  ${await provisionKubernetesValidate()}\n`);
}
