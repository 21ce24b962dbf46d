import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { ConfigError } from '@idra/core';
import { SpawnedProcess } from '@idra/testkit';
import { MIN_JWT_SECRET, parseServerOptions } from './options.ts';

describe('API server options', () => {
  it('has documented defaults and reads the environment', () => {
    expect(parseServerOptions([], {})).toMatchObject({
      etcd: ['http://127.0.0.1:2379'],
      prefix: '/idra/',
      host: '127.0.0.1',
      port: 8080,
      sessionTtlMs: 43_200_000,
      bodyLimit: 1_048_576,
      loginRateLimit: 10,
      trustProxy: false,
      jwtSecret: undefined,
      secretKey: undefined,
    });
    expect(
      parseServerOptions(['--port', '9000', '--etcd', 'http://a:2379, http://b:2379'], {
        IDRA_JWT_EXPIRY: '30m',
        IDRA_SECRET_KEY: 'k'.repeat(16),
        IDRA_API_TRUST_PROXY: 'true',
      }),
    ).toMatchObject({
      port: 9000,
      etcd: ['http://a:2379', 'http://b:2379'],
      sessionTtlMs: 1_800_000,
      trustProxy: 1,
    });
    expect(parseServerOptions(['-h'], {})).toBe('help');
  });

  it('names the bad option', () => {
    expect(() => parseServerOptions(['--port', 'x'], {})).toThrow(/--port: must be an integer/);
    expect(() => parseServerOptions([], { IDRA_SECRET_KEY: 'short' })).toThrow(ConfigError);
    expect(() => parseServerOptions([], { IDRA_JWT_EXPIRY: 'soon' })).toThrow(/IDRA_JWT_EXPIRY/);
    expect(() => parseServerOptions(['--nope'], {})).toThrow();
  });

  it('trusts a number of proxy hops or a list of proxy addresses, never every hop', () => {
    const trust = (v: string) => (parseServerOptions([], { IDRA_API_TRUST_PROXY: v }) as { trustProxy: unknown }).trustProxy;
    expect(trust('false')).toBe(false);
    expect(trust('2')).toBe(2);
    expect(trust('10.0.0.0/8, 192.168.1.5,::1')).toEqual(['10.0.0.0/8', '192.168.1.5', '::1']);
    expect(() => trust('10.0.0.0/33')).toThrow(/IDRA_API_TRUST_PROXY: .*"10.0.0.0\/33"/);
    expect(() => trust('proxy.example.com')).toThrow(/IDRA_API_TRUST_PROXY/);
    expect(() => trust('11')).toThrow(/IDRA_API_TRUST_PROXY: must be an integer from 1 to 10/);
  });

  it(`refuses an IDRA_JWT_SECRET shorter than ${MIN_JWT_SECRET} characters`, () => {
    expect(() => parseServerOptions([], { IDRA_JWT_SECRET: 'x' })).toThrow(/IDRA_JWT_SECRET: must be at least 32 characters \(got 1\)/);
    expect(() => parseServerOptions([], { IDRA_JWT_SECRET: 'j'.repeat(31) })).toThrow(ConfigError);
    expect(parseServerOptions([], { IDRA_JWT_SECRET: 'j'.repeat(32) })).toMatchObject({ jwtSecret: 'j'.repeat(32) });
  });

  it('the real server refuses to start with a short IDRA_JWT_SECRET, naming it', async () => {
    const main = join(import.meta.dirname, 'main.ts');
    const server = new SpawnedProcess(process.execPath, [main, '--port', '0'], { env: { ...process.env, IDRA_JWT_SECRET: 'short' } });
    expect(await server.exited).toBe(2);
    expect(server.output()).toMatch(/IDRA_JWT_SECRET: must be at least 32 characters/);
  });
});
