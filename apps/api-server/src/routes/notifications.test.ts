import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { KEYS, SIGNATURE_HEADER, TIMESTAMP_HEADER, verifyWebhook } from '@idra/core';
import { startTestServer, type TestServer } from '../testing/harness.ts';

const HMAC = 'api-test-hmac-secret-0123456789';

describe('/notifications: channels, rules, test messages, incidents and deliveries', () => {
  let s: TestServer;
  let receiver: Server;
  let url: string;
  const received: Array<{ body: string; signed: boolean }> = [];

  beforeAll(async () => {
    s = await startTestServer();
    receiver = createServer((req, res) => {
      let body = '';
      req.on('data', (d: Buffer) => (body += d.toString()));
      req.on('end', () => {
        received.push({ body, signed: verifyWebhook(HMAC, String(req.headers[TIMESTAMP_HEADER]), body, String(req.headers[SIGNATURE_HEADER])) });
        res.writeHead(received.length === 1 ? 204 : 503).end();
      });
    });
    await new Promise<void>((resolve) => receiver.listen(0, '127.0.0.1', resolve));
    url = `http://127.0.0.1:${(receiver.address() as AddressInfo).port}/idra/T000/secret-path?token=t0k3n`;
  });
  afterAll(async () => {
    await s.close();
    await new Promise((resolve) => receiver.close(resolve));
  });

  it('admins manage channels with the URL and secret sealed and masked; a masked value sent back keeps the stored one', async () => {
    const admin = s.tokens.admin;
    const created = await s.call('POST', '/api/v1/notifications/channels', {
      token: admin,
      body: { id: 'team', name: 'Team hook', kind: 'webhook', url, secret: HMAC },
    });
    expect(created.status).toBe(201);
    const origin = new URL(url).origin;
    expect(created.body).toEqual({ id: 'team', name: 'Team hook', kind: 'webhook', url: `${origin}/********`, secret: '********' });
    const stored = (await s.app.idra.etcd.ns.get(KEYS.notifyChannel('team')).string())!;
    expect(stored).not.toContain('secret-path');
    expect(stored).not.toContain(HMAC);
    expect(JSON.stringify((await s.call('GET', '/api/v1/notifications/channels', { token: admin })).body)).not.toContain('t0k3n');
    // Renamed with the masks sent back: URL and secret stay.
    const renamed = await s.call('PUT', '/api/v1/notifications/channels/team', { token: admin, body: { ...created.body, name: 'Data team' } });
    expect(renamed.status).toBe(200);
    expect(s.app.idra.notify.open((await s.app.idra.notify.getChannel('team'))!)).toMatchObject({ name: 'Data team', url, secret: HMAC });
    for (const token of [s.tokens.operator, s.tokens.viewer]) {
      expect((await s.call('GET', '/api/v1/notifications/channels', { token })).status).toBe(403);
      expect((await s.call('POST', '/api/v1/notifications/channels', { token, body: { id: 'x', kind: 'slack', url } })).status).toBe(403);
    }
  });

  it('refuses bad input naming the field', async () => {
    const admin = s.tokens.admin;
    const bad = async (path: string, body: unknown) => (await s.call('POST', path, { token: admin, body })).body;
    expect(await bad('/api/v1/notifications/channels', { id: 'c2', kind: 'webhook', url: 'file:///etc/passwd' })).toMatchObject({
      code: 'IDRA_ERR_CONFIG_INVALID',
      details: { issues: [{ path: 'url' }] },
    });
    expect(await bad('/api/v1/notifications/channels', { id: 'c2', kind: 'webhook', url: `${new URL(url).origin}/********` })).toMatchObject({
      code: 'IDRA_ERR_SECRETS_MASKED',
    });
    expect(await bad('/api/v1/notifications/channels', { id: '../x', kind: 'webhook', url })).toMatchObject({ details: { issues: [{ path: 'id' }] } });
    expect(await bad('/api/v1/notifications/rules', { id: 'r', channels: ['team', 'nowhere'] })).toMatchObject({
      details: { issues: [{ path: 'channels[1]', message: "no notification channel 'nowhere'" }] },
    });
    expect(await bad('/api/v1/notifications/rules', { id: 'r', channels: ['team'], onLagMinutes: 'soon' })).toMatchObject({
      details: { issues: [{ path: 'onLagMinutes' }] },
    });
  });

  it('rules: created, listed, and a channel in use cannot be deleted', async () => {
    const admin = s.tokens.admin;
    const rule = { id: 'orders-team', channels: ['team'], syncs: ['orders'], onRetryingMinutes: 10, onLagMinutes: 15 };
    expect((await s.call('POST', '/api/v1/notifications/rules', { token: admin, body: rule })).status).toBe(201);
    expect((await s.call('GET', '/api/v1/notifications/rules', { token: admin })).body).toEqual([rule]);
    expect((await s.call('DELETE', '/api/v1/notifications/channels/team', { token: admin })).body).toMatchObject({
      code: 'IDRA_ERR_NOTIFY_CHANNEL_IN_USE',
      details: { rules: ['orders-team'] },
    });
    expect((await s.call('DELETE', '/api/v1/notifications/rules/orders-team', { token: admin })).status).toBe(204);
    expect((await s.call('DELETE', '/api/v1/notifications/rules/orders-team', { token: admin })).status).toBe(404);
  });

  it('Test sends one signed sample message and logs it; a refusal is reported and logged too', async () => {
    const admin = s.tokens.admin;
    const ok = await s.call('POST', '/api/v1/notifications/channels/team/test', { token: admin, body: {} });
    expect(ok.body).toMatchObject({ ok: true, httpStatus: 204 });
    expect(received).toHaveLength(1);
    expect(received[0]!.signed).toBe(true);
    expect(JSON.parse(received[0]!.body)).toMatchObject({ type: 'test', text: expect.stringContaining("through 'Data team' arrive") });
    const refused = await s.call('POST', '/api/v1/notifications/channels/team/test', { token: admin, body: {} });
    expect(refused.body).toMatchObject({ ok: false, httpStatus: 503, error: 'the receiver answered 503' });
    const log = (await s.call('GET', '/api/v1/notifications/deliveries', { token: s.tokens.viewer })).body;
    expect(log.map((d: { id: string; status: string }) => [d.id, d.status])).toEqual([
      [refused.body.deliveryId, 'failed'],
      [ok.body.deliveryId, 'delivered'],
    ]);
    expect(JSON.stringify(log)).not.toContain('t0k3n');
    // The newest only, as the web UI asks (a query string is text: it must still be taken as a number).
    expect((await s.call('GET', '/api/v1/notifications/deliveries?limit=1', { token: s.tokens.viewer })).body.map((d: { id: string }) => d.id)).toEqual([
      refused.body.deliveryId,
    ]);
    expect((await s.call('GET', '/api/v1/notifications/deliveries?limit=501', { token: s.tokens.viewer })).status).toBe(400);
    expect((await s.call('GET', '/api/v1/notifications/incidents', { token: s.tokens.viewer })).body).toEqual([]);
    expect((await s.call('POST', '/api/v1/notifications/channels/nowhere/test', { token: admin, body: {} })).status).toBe(404);
  });
});
