import { describe, expect, it } from 'vitest';
import { apiBaseUrl, loadRuntimeConfig } from './config.ts';

describe('runtime config', () => {
  it('defaults to the origin serving the UI', () => {
    expect(apiBaseUrl({ apiUrl: '' }, 'http://ui.local:8081')).toBe('http://ui.local:8081');
  });

  it('accepts an API root with or without /api/v1, absolute or relative', () => {
    expect(apiBaseUrl({ apiUrl: 'https://api.example.com/' }, 'http://ui')).toBe('https://api.example.com');
    expect(apiBaseUrl({ apiUrl: 'https://api.example.com/api/v1' }, 'http://ui')).toBe('https://api.example.com');
    expect(apiBaseUrl({ apiUrl: '/idra' }, 'http://ui:81')).toBe('http://ui:81/idra');
  });

  it('falls back to the defaults when config.json is missing or not JSON', async () => {
    const missing = (async () => new Response('nope', { status: 404 })) as typeof fetch;
    const garbage = (async () => new Response('<html>', { status: 200 })) as typeof fetch;
    const given = (async () => Response.json({ apiUrl: 'http://api:8080' })) as typeof fetch;
    expect(await loadRuntimeConfig('http://ui/', missing)).toEqual({ apiUrl: '' });
    expect(await loadRuntimeConfig('http://ui/', garbage)).toEqual({ apiUrl: '' });
    expect(await loadRuntimeConfig('http://ui/', given)).toEqual({ apiUrl: 'http://api:8080' });
  });
});
