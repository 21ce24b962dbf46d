import { execFileSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';

const home = mkdtempSync(join(tmpdir(), 'idra-cache-'));
afterAll(() => rmSync(home, { recursive: true, force: true }));

/** The compile cache directory a fresh Node process gets from enableIdraCompileCache under `env`. */
function cacheDir(env: Record<string, string>): string {
  const script = `import { getCompileCacheDir } from 'node:module'; import { enableIdraCompileCache } from ${JSON.stringify(join(import.meta.dirname, 'compile-cache.ts'))}; enableIdraCompileCache(); console.log(getCompileCacheDir() ?? 'off');`;
  const clean = Object.fromEntries(
    Object.entries(process.env).filter(([k]) => !/^(NODE_COMPILE_CACHE|NODE_DISABLE_COMPILE_CACHE|XDG_CACHE_HOME|HOME)$/.test(k)),
  );
  return execFileSync(process.execPath, ['--input-type=module', '-e', script], { env: { ...clean, ...env }, encoding: 'utf8', timeout: 20_000 }).trim();
}

describe("Node's compile cache for Idra's commands", () => {
  it("is kept in the user's own cache directory, not a shared /tmp; NODE_COMPILE_CACHE moves it, NODE_DISABLE_COMPILE_CACHE turns it off", () => {
    expect(cacheDir({ HOME: home })).toMatch(new RegExp(`^${home}/\\.cache/idra/node-compile-cache/`));
    expect(cacheDir({ HOME: home, XDG_CACHE_HOME: join(home, 'xdg') })).toMatch(new RegExp(`^${home}/xdg/idra/node-compile-cache/`));
    expect(cacheDir({ HOME: home, NODE_COMPILE_CACHE: join(home, 'moved') })).toMatch(new RegExp(`^${home}/moved/`));
    expect(cacheDir({ HOME: home, NODE_DISABLE_COMPILE_CACHE: '1' })).toBe('off');
  });

  it('stays off, without an error, where the directory cannot be made', () => {
    // A home that is a file: nothing can be made under it.
    const file = join(home, 'a-file');
    writeFileSync(file, '');
    expect(cacheDir({ HOME: file })).toBe('off');
  });
});
