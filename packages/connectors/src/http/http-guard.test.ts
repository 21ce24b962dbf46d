import { createServer, type Server } from 'node:http';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { HttpTargetRefused, guardedFetch, isInternalAddress } from './http-guard.ts';

describe('HTTP connectors reach only what they should', () => {
  it.each([
    ['127.0.0.1', true],
    ['127.1.2.3', true],
    ['10.0.0.5', true],
    ['172.16.0.1', true],
    ['192.168.1.1', true],
    ['169.254.169.254', true],
    ['100.64.0.1', true],
    ['0.0.0.0', true],
    ['::1', true],
    ['fd00:ec2::254', true],
    ['fe80::1', true],
    ['::ffff:127.0.0.1', true],
    ['::ffff:a9fe:a9fe', true],
    ['64:ff9b::10.0.0.1', true],
    ['8.8.8.8', false],
    ['93.184.216.34', false],
    ['2606:4700::1111', false],
  ])('%s is internal: %s', (address, internal) => {
    expect(isInternalAddress(address)).toBe(internal);
  });

  describe('against a server on loopback', () => {
    let server: Server;
    let port: number;
    const hits: string[] = [];
    beforeAll(async () => {
      server = createServer((req, res) => {
        hits.push(req.url!);
        if (req.url === '/moved') return void res.writeHead(302, { location: '/here' }).end();
        if (req.url === '/away') return void res.writeHead(302, { location: `http://localhost:${port}/here` }).end();
        res.writeHead(200, { 'content-type': 'text/plain' }).end('internal answer');
      });
      await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
      port = (server.address() as { port: number }).port;
    });
    afterAll(() => new Promise<void>((r) => server.close(() => r())));

    const get = (url: string) => guardedFetch(new URL(url), { method: 'GET' });

    it('refuses loopback by address and by name (after DNS resolution), sending nothing', async () => {
      delete process.env.IDRA_HTTP_ALLOW;
      await expect(get(`http://127.0.0.1:${port}/latest/meta-data/`)).rejects.toThrow(HttpTargetRefused);
      await expect(get(`http://127.0.0.1:${port}/`)).rejects.toThrow(/127\.0\.0\.1 is a loopback, private, link-local or reserved address: .*IDRA_HTTP_ALLOW/);
      // A name is checked on what it resolves to, at connection time (undici wraps the refusal).
      const byName = await get(`http://localhost:${port}/`).catch((err: Error) => err);
      expect(String((byName as Error & { cause?: Error }).cause ?? byName)).toMatch(/loopback, private/);
      await expect(get(`file:///etc/passwd`)).rejects.toThrow(/only http and https/);
      expect(hits).toEqual([]);
    });

    it('reaches what IDRA_HTTP_ALLOW permits, follows same-origin redirects, and never another origin', async () => {
      process.env.IDRA_HTTP_ALLOW = '127.0.0.0/8';
      try {
        expect(await (await get(`http://127.0.0.1:${port}/moved`)).text()).toBe('internal answer');
        await expect(get(`http://127.0.0.1:${port}/away`)).rejects.toThrow(/redirects to another origin \(http:\/\/localhost:\d+\): not followed/);
        expect(hits).toEqual(['/moved', '/here', '/away']);
      } finally {
        delete process.env.IDRA_HTTP_ALLOW;
      }
    });
  });
});
