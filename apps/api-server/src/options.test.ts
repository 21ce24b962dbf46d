import { describe, expect, it } from 'vitest';
import { ConfigError } from '@idra/core';
import { parseServerOptions } from './options.ts';

describe('API server options', () => {
  it('has documented defaults and reads the environment', () => {
    expect(parseServerOptions([], {})).toMatchObject({ etcd: ['http://127.0.0.1:2379'], prefix: '/idra/', host: '127.0.0.1', port: 8080, sessionTtlMs: 43_200_000, bodyLimit: 1_048_576, loginRateLimit: 10, trustProxy: false, jwtSecret: undefined, secretKey: undefined });
    expect(parseServerOptions(['--port', '9000', '--etcd', 'http://a:2379, http://b:2379'], { IDRA_JWT_EXPIRY: '30m', IDRA_SECRET_KEY: 'k'.repeat(16), IDRA_API_TRUST_PROXY: 'true' })).toMatchObject({
      port: 9000,
      etcd: ['http://a:2379', 'http://b:2379'],
      sessionTtlMs: 1_800_000,
      trustProxy: true,
    });
    expect(parseServerOptions(['-h'], {})).toBe('help');
  });

  it('names the bad option', () => {
    expect(() => parseServerOptions(['--port', 'x'], {})).toThrow(/--port: must be an integer/);
    expect(() => parseServerOptions([], { IDRA_SECRET_KEY: 'short' })).toThrow(ConfigError);
    expect(() => parseServerOptions([], { IDRA_JWT_EXPIRY: 'soon' })).toThrow(/IDRA_JWT_EXPIRY/);
    expect(() => parseServerOptions(['--nope'], {})).toThrow();
  });
});
