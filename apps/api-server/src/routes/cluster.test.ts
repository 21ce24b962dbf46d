import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { KEYS, StatusStore, newSyncStatus } from '@idra/core';
import { IdraClient, type ClusterEvent } from '@idra/api-client';
import { findPromtool, freePort, promtoolCheckMetrics, until } from '@idra/testkit';
import { buildApp } from '../app.ts';
import { asSyncOwner, sqliteSync, startTestServer, testOptions, type TestServer } from '../testing/harness.ts';

describe('agents, assignments, cluster health, events, health endpoints, OpenAPI', () => {
  let s: TestServer;
  beforeAll(async () => {
    s = await startTestServer();
  });
  afterAll(async () => s.close());

  it('lists agents with the leader flagged and their assignments', async () => {
    const ns = s.app.idra.etcd.ns;
    for (const id of ['agent-a', 'agent-b'])
      await ns.put(KEYS.agent(id)).value(JSON.stringify({ agentId: id, host: 'h', pid: 1, version: '0.1.0', startedAt: new Date().toISOString() }));
    await ns.put('election/leader/7587').value('agent-b');
    await ns.put(KEYS.assignment('s1')).value(JSON.stringify({ agentId: 'agent-a', epoch: 3 }));
    await ns.put(KEYS.assignment('s2')).value(JSON.stringify({ agentId: 'agent-b', epoch: 1 }));
    const agents = (await s.call('GET', '/api/v1/agents', { token: s.tokens.viewer })).body;
    expect(agents).toMatchObject([
      { agentId: 'agent-a', leader: false, syncs: ['s1'] },
      { agentId: 'agent-b', leader: true, syncs: ['s2'] },
    ]);
    expect((await s.call('GET', '/api/v1/assignments', { token: s.tokens.viewer })).body).toEqual([
      { syncId: 's1', agentId: 'agent-a', epoch: 3 },
      { syncId: 's2', agentId: 'agent-b', epoch: 1 },
    ]);
  });

  it('shows agent labels and capacity, data source slots held and waiting in queue order, and why a sync runs nowhere', async () => {
    const ns = s.app.idra.etcd.ns;
    await ns.put(KEYS.agent('agent-eu')).value(
      JSON.stringify({
        agentId: 'agent-eu',
        host: 'h',
        pid: 2,
        version: '0.1.0',
        startedAt: new Date().toISOString(),
        labels: { region: 'eu' },
        capacity: 4,
      }),
    );
    const agents = (await s.call('GET', '/api/v1/agents', { token: s.tokens.viewer })).body as Array<{ agentId: string }>;
    expect(agents.find((a) => a.agentId === 'agent-eu')).toMatchObject({ labels: { region: 'eu' }, capacity: 4 });

    const ds = { id: 'busy-db', connector: 'sqlite', connection: { file: '/tmp/busy.db' }, maxConcurrentSyncs: 1, maxReaders: 1 };
    expect((await s.call('POST', '/api/v1/datasources', { token: s.tokens.operator, body: ds })).status).toBe(201);
    const slot = (syncId: string, held: boolean) => JSON.stringify({ syncId, agentId: 'agent-eu', roles: ['read'], held, since: '2026-01-01T00:00:00.000Z' });
    await ns.put(KEYS.slot('busy-db', 'first')).value(slot('first', true));
    await ns.put(KEYS.slot('busy-db', 'third')).value(slot('third', false));
    await ns.put(KEYS.slot('busy-db', 'second')).value(slot('second', false));
    expect((await s.call('GET', '/api/v1/slots', { token: s.tokens.viewer })).body).toContainEqual({
      dataSourceId: 'busy-db',
      maxConcurrentSyncs: 1,
      maxReaders: 1,
      maxWriters: null,
      holdSlotWhileIdle: false,
      held: [expect.objectContaining({ syncId: 'first', agentId: 'agent-eu', roles: ['read'] })],
      waiting: [expect.objectContaining({ syncId: 'third' }), expect.objectContaining({ syncId: 'second' })],
    });

    const placed = sqliteSync('placed-eu', { placement: { region: 'ap' } });
    expect((await s.call('POST', '/api/v1/syncs', { token: s.tokens.operator, body: placed })).status).toBe(201);
    await ns.put(KEYS.unassigned('placed-eu')).value(JSON.stringify({ reason: 'no agent with region=ap', since: '2026-01-01T00:00:00.000Z' }));
    const row = ((await s.call('GET', '/api/v1/overview', { token: s.tokens.viewer })).body as Array<{ id: string }>).find((o) => o.id === 'placed-eu');
    expect(row).toMatchObject({
      unassigned: { reason: 'no agent with region=ap' },
      health: { health: 'unassigned', reason: 'unassigned: no agent with region=ap' },
    });
  });

  it('reports etcd members, leader and DB size', async () => {
    const r = await s.call('GET', '/api/v1/cluster', { token: s.tokens.viewer });
    expect(r.status).toBe(200);
    expect(r.body.healthy).toBe(true);
    expect(r.body.members.length).toBeGreaterThanOrEqual(1);
    const leader = r.body.members.find((m: { isLeader: boolean }) => m.isLeader);
    expect(leader.id).toBe(r.body.leaderId);
    expect(leader.dbSize).toBeGreaterThan(0);
    expect(leader.error).toBeNull();
  });

  it('pushes status, assignment and agent changes as server-sent events', async () => {
    const address = await s.app.listen({ host: '127.0.0.1', port: 0 });
    const client = new IdraClient({ baseUrl: address, token: s.tokens.viewer });
    const events: ClusterEvent[] = [];
    const ctl = new AbortController();
    const following = client.events((e) => events.push(e), ctl.signal);
    const statuses = new StatusStore(s.app.idra.etcd.ns);
    expect((await s.call('POST', '/api/v1/syncs', { token: s.tokens.operator, body: sqliteSync('live') })).status).toBe(201);
    const deadline = Date.now() + 20_000;
    // The stream may attach after the first write: keep writing until an event arrives.
    await asSyncOwner(s.app.idra.etcd.ns, 'live', 'a', async (fence) => {
      while (!events.some((e) => e.kind === 'status' && e.id === 'live') && Date.now() < deadline) {
        await statuses.put(newSyncStatus('live', 'a', { state: 'running', rowsCopied: 1, batches: 1 }), fence);
        await new Promise((r) => setTimeout(r, 200));
      }
    });
    await s.app.idra.etcd.ns.delete().key(KEYS.agent('agent-a')).exec();
    while (!events.some((e) => e.kind === 'agent' && e.type === 'delete') && Date.now() < deadline) await new Promise((r) => setTimeout(r, 50));
    ctl.abort();
    await following;
    expect(events.find((e) => e.kind === 'status')).toMatchObject({ type: 'put', id: 'live', value: { state: 'running' } });
    expect(events.find((e) => e.kind === 'agent')).toMatchObject({ type: 'delete', id: 'agent-a', value: null });
    // Unauthenticated: refused before the stream opens.
    await expect(new IdraClient({ baseUrl: address }).events(() => {}, new AbortController().signal)).rejects.toMatchObject({ status: 401 });
  });

  it('serves /healthz, /readyz, /metrics, the OpenAPI document and the docs page without a token', async () => {
    expect((await s.call('GET', '/healthz')).body).toEqual({ status: 'ok' });
    expect((await s.call('GET', '/readyz')).body).toEqual({ status: 'ready' });
    const metrics = await s.call('GET', '/metrics');
    expect(metrics.text).toMatch(/idra_api_http_requests_total\{method="GET",route="\/api\/v1\/cluster",status="200"\} \d+/);
    expect(metrics.text).toContain('idra_api_http_request_duration_seconds_bucket');
    expect(metrics.text).toContain('idra_api_etcd_errors_total');
    const promtool = findPromtool();
    if (promtool || process.env.CI === 'true') expect(await promtoolCheckMetrics(promtool ?? 'promtool', metrics.text)).toEqual([]);
    const doc = await s.call('GET', '/api/v1/openapi.json');
    expect(doc.body.openapi).toBe('3.0.3');
    for (const path of [
      '/api/v1/auth/login',
      '/api/v1/syncs',
      '/api/v1/syncs/{id}',
      '/api/v1/syncs/{id}/offset',
      '/api/v1/datasources/{id}/test',
      '/api/v1/tokens',
      '/api/v1/events',
      '/api/v1/cluster',
    ]) {
      expect(doc.body.paths[path], path).toBeDefined();
    }
    expect(doc.body.components.schemas.ErrorBody).toBeDefined();
    expect(doc.body.paths['/api/v1/syncs'].post.requestBody.content['application/json'].schema.additionalProperties).toBe(false);
    const page = await s.app.inject({ method: 'GET', url: '/api/v1/docs/' });
    expect(page.statusCode).toBe(200);
    expect(page.body).toMatch(/swagger/i);
    expect((await s.call('GET', '/api/v1/nowhere', { token: s.tokens.viewer })).body.code).toBe('IDRA_ERR_API_ROUTE_NOT_FOUND');
  });

  it('starts without etcd, says so on /readyz, and counts the etcd errors', async () => {
    const app = await buildApp(testOptions({ etcd: [`http://127.0.0.1:${await freePort()}`], logLevel: 'silent' }));
    try {
      const ready = await app.inject({ method: 'GET', url: '/readyz' });
      expect(ready.statusCode).toBe(503);
      expect(JSON.parse(ready.body).code).toBe('IDRA_ERR_ETCD_UNAVAILABLE');
      expect((await app.inject({ method: 'GET', url: '/healthz' })).statusCode).toBe(200);
      const metrics = (await app.inject({ method: 'GET', url: '/metrics' })).body;
      expect(metrics).toMatch(/idra_api_etcd_errors_total\{where="readyz"\} [1-9]/);
      // What the IdraEtcdUnreachable alert reads; the cluster gauges say nothing rather than 0.
      expect(metrics).toMatch(/^idra_cluster_etcd_up 0$/m);
      expect(metrics).not.toMatch(/^idra_cluster_agents /m);
    } finally {
      await app.close();
    }
  });

  it('exports the cluster as etcd holds it for the alert rules: leader, agents (and how many are expected), unassigned syncs', async () => {
    const own = await startTestServer({ expectedAgents: 3 }, { users: false });
    try {
      const ns = own.app.idra.etcd.ns;
      for (const id of ['a', 'b', 'c']) await own.app.idra.configs.putSync(sqliteSync(id, { enabled: id !== 'c' }));
      await ns.put(KEYS.assignment('a')).value(JSON.stringify({ agentId: 'agent-a', epoch: 1 }));
      await ns.put(KEYS.agent('agent-a')).value(JSON.stringify({ agentId: 'agent-a' }));
      let metrics = (await own.call('GET', '/metrics')).text;
      expect(metrics).toMatch(/^idra_cluster_etcd_up 1$/m);
      expect(metrics).toMatch(/^idra_cluster_leader 0$/m);
      expect(metrics).toMatch(/^idra_cluster_agents 1$/m);
      expect(metrics).toMatch(/^idra_cluster_agents_expected 3$/m);
      // b is enabled and has no agent; c is paused; a runs.
      expect([...metrics.matchAll(/^idra_cluster_sync_unassigned\{sync="(\w+)"\} 1$/gm)].map((m) => m[1])).toEqual(['b']);

      await ns.put('election/leader/1').value('agent-a');
      await ns.put(KEYS.assignment('b')).value(JSON.stringify({ agentId: 'agent-a', epoch: 1 }));
      await until('the next scrape to see the change', async () => /^idra_cluster_leader 1$/m.test((metrics = (await own.call('GET', '/metrics')).text)));
      expect(metrics).not.toContain('idra_cluster_sync_unassigned{');
    } finally {
      await own.close();
    }
  });
});
