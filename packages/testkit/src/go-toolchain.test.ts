import { execFile } from 'node:child_process';
import { chmod, mkdir, writeFile } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import { promisify } from 'node:util';
import { describe, expect, it } from 'vitest';
import { GO_TOOLCHAIN, goProxyUrl, provisionGo } from './go-toolchain.ts';
import { tempDir } from './temp-dir.ts';

const run = promisify(execFile);

describe('Go toolchain for the testkit builds', () => {
  it(`with no Go at all, fetches the official ${GO_TOOLCHAIN} from the Go module proxy (cached after the first run) and builds a program with it`, async () => {
    const toolchain = await provisionGo([]);
    expect(toolchain.version).toBe(GO_TOOLCHAIN);
    const env = { ...process.env, GOTOOLCHAIN: 'local', GOFLAGS: '', CGO_ENABLED: '0' };
    expect((await run(toolchain.go, ['version'], { env })).stdout).toContain(`${GO_TOOLCHAIN} linux/`);
    // The standard library and the compiler's tools are usable (their file modes were restored).
    const dir = await tempDir('idra-go-');
    await writeFile(join(dir, 'go.mod'), 'module example.test/hello\n\ngo 1.24\n');
    await writeFile(join(dir, 'main.go'), 'package main\n\nimport (\n\t"cmp"\n\t"fmt"\n)\n\nfunc main() { fmt.Println(cmp.Compare(1, 2)) }\n');
    await run(toolchain.go, ['build', '-o', join(dir, 'hello'), '.'], { cwd: dir, env: { ...env, GOCACHE: join(dir, 'cache') } });
    expect((await run(join(dir, 'hello'), [])).stdout.trim()).toBe('-1');
  }, 300_000);

  it('passes over a Go older than 1.24 (a stand-in script answering go1.19, as Debian 12 ships) for the fetched toolchain', async () => {
    const dir = await tempDir('idra-old-go-');
    await mkdir(join(dir, 'bin'));
    await writeFile(
      join(dir, 'bin', 'go'),
      '#!/bin/sh\n[ "$1 $2" = "env GOVERSION" ] && echo go1.19.8 && exit 0\n[ "$1 $2" = "env GOPROXY" ] && echo "https://proxy.golang.org,direct" && exit 0\nexit 1\n',
    );
    await chmod(join(dir, 'bin', 'go'), 0o755);
    const toolchain = await provisionGo([join(dir, 'bin')]);
    expect(toolchain.version).toBe(GO_TOOLCHAIN);
    expect(toolchain.go).not.toBe(join(dir, 'bin', 'go'));
  }, 300_000);

  it('uses a Go found on the search path when it is 1.24 or newer, without fetching anything', async () => {
    const fetched = await provisionGo([]);
    const found = await provisionGo([dirname(fetched.go)]);
    expect(found).toMatchObject({ go: fetched.go, version: GO_TOOLCHAIN, built: false });
  }, 300_000);

  it('takes the first proxy URL of GOPROXY, and the public proxy when there is none', () => {
    expect(goProxyUrl('https://goproxy.example.internal/,direct')).toBe('https://goproxy.example.internal');
    expect(goProxyUrl('direct')).toBe('https://proxy.golang.org');
    expect(goProxyUrl('off|https://b.example')).toBe('https://b.example');
    expect(goProxyUrl(undefined)).toBe('https://proxy.golang.org');
  });
});
