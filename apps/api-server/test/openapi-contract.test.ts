// The served OpenAPI document as integrators meet it: Redocly's and Spectral's recommended rulesets, and
// a client generated with openapi-typescript + openapi-fetch driving a CI job that type-checks and runs.
import { execFile } from 'node:child_process';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import { promisify } from 'node:util';
import { createConfig, lintFromString } from '@redocly/openapi-core';
import spectralCore from '@stoplight/spectral-core';
import spectralRulesets from '@stoplight/spectral-rulesets';
import openapiTS, { astToString } from 'openapi-typescript';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ADMIN_PASSWORD, sqliteSync, startTestServer, type TestServer } from '@idra/api-server/testing';

const run = promisify(execFile);
const TSC = resolve(import.meta.dirname, '../../../node_modules/.bin/tsc');

/** What the recommended rulesets say that is not a fault of the document, and why. */
const JUSTIFIED: Array<{ rule: string; where?: RegExp; why: string }> = [
  { rule: 'info-license', why: 'the project has not chosen a license yet; the document must not invent one' },
  {
    rule: 'operation-4xx-response',
    where: /^#\/paths\/~1(healthz|readyz|metrics|api~1v1~1auth~1setup)\//,
    why: 'probes, scrapes and the public first-login hint take no input and no token: they answer 200 or 503, never a 4xx',
  },
];

/** A CI job as an integrator writes it against the generated types (run for real below). */
const CI_JOB = `import createClient from 'openapi-fetch';
import type { paths } from './idra-api.ts';

const idra = createClient<paths>({ baseUrl: process.env.IDRA_URL! });
const login = await idra.POST('/api/v1/auth/login', { body: { username: 'admin', password: process.env.IDRA_PASSWORD! } });
if (!login.data) throw new Error(\`login: \${login.error?.code}\`);
const headers = { authorization: \`Bearer \${login.data.token}\` };
console.log('logged in as', login.data.user.name, login.data.user.role);
const me = await idra.GET('/api/v1/auth/me', { headers });
if (me.data?.via !== 'session') throw new Error('not a session');

// Pausing needs no body.
const paused = await idra.POST('/api/v1/syncs/{id}/pause', { params: { path: { id: 'nightly' } }, headers });
if (paused.response.status !== 404 || !paused.error?.code.startsWith('IDRA_ERR_')) throw new Error(\`pause: \${paused.response.status}\`);

const overview = await idra.GET('/api/v1/overview', { headers });
for (const sync of overview.data ?? []) {
  const status = sync.status;
  const caughtUp = status !== null && status.state === 'idle' && (status.lag?.rows ?? 0) === 0;
  console.log(sync.id, sync.health.health, caughtUp ? 'caught up' : \`\${status?.lag?.rows ?? '?'} rows behind\`);
}
const agents = await idra.GET('/api/v1/agents', { headers });
console.log('agents', (agents.data ?? []).map((a) => \`\${a.agentId}\${a.leader ? ' (leader)' : ''}: \${a.syncs.length}\`).join(', ') || 'none');
const cluster = await idra.GET('/api/v1/cluster', { headers });
console.log('etcd', cluster.data?.healthy ? 'healthy' : 'unhealthy', cluster.data?.members.map((m) => m.dbSize ?? 0));

// Each sync's last change and its rows in the last hour; limited data sources; what an export holds; failed notifications.
const list = await idra.GET('/api/v1/syncs', { headers });
for (const sync of list.data?.syncs ?? []) {
  const path = { params: { path: { id: sync.id } }, headers };
  const [history, activity] = await Promise.all([idra.GET('/api/v1/syncs/{id}/history', path), idra.GET('/api/v1/syncs/{id}/activity', path)]);
  const last = history.data?.[0];
  const rows = (activity.data?.points ?? []).reduce((n, p) => n + p.rows, 0);
  console.log(\`history \${sync.id}: \${last?.action} by \${last?.by} via \${last?.via ?? 'api'}; \${rows} rows in the last hour\`);
}
const slots = await idra.GET('/api/v1/slots', { headers });
console.log('slots', (slots.data ?? []).map((d) => \`\${d.dataSourceId} \${d.held.length}/\${d.maxConcurrentSyncs ?? '-'}\`).join(', ') || 'none');
const exported = await idra.GET('/api/v1/export', { headers });
console.log('export', exported.data?.syncs.map((s) => s.id).join(','), exported.data?.dataSources.length);
const deliveries = await idra.GET('/api/v1/notifications/deliveries', { headers });
console.log('failed deliveries', (deliveries.data ?? []).filter((d) => d.status === 'failed').length);
`;

describe('the OpenAPI document (/api/v1/openapi.json)', () => {
  let s: TestServer;
  let base: string;
  let text: string;
  let doc: any;
  beforeAll(async () => {
    s = await startTestServer();
    base = await s.app.listen({ host: '127.0.0.1', port: 0 });
    text = await (await fetch(`${base}/api/v1/openapi.json`)).text();
    doc = JSON.parse(text);
  });
  afterAll(async () => s?.close());

  it("passes Redocly's recommended ruleset, but for the justified exceptions", async () => {
    const problems = await lintFromString({
      source: text,
      absoluteRef: `${base}/api/v1/openapi.json`,
      config: await createConfig({ extends: ['recommended'] }),
    });
    const unjustified = problems
      .map((p) => ({ rule: p.ruleId, where: p.location[0]?.pointer ?? '', message: p.message }))
      .filter((p) => !JUSTIFIED.some((j) => j.rule === p.rule && (!j.where || j.where.test(p.where))));
    expect(unjustified).toEqual([]);
  });

  it("passes Spectral's oas ruleset (recommended rules) with no exception", async () => {
    const { Spectral } = spectralCore;
    const spectral = new Spectral();
    spectral.setRuleset({ extends: [[spectralRulesets.oas as never, 'recommended']] } as never);
    const results = await spectral.run(text);
    expect(results.map((r) => `${r.code} ${r.path.join('.')}: ${r.message}`)).toEqual([]);
  });

  it('every operation has a unique operationId, a described tag and a description; errors are JSON; action routes need no body', () => {
    const operations = Object.entries<any>(doc.paths).flatMap(([path, ops]) => Object.entries<any>(ops).map(([method, op]) => ({ path, method, op })));
    expect(operations.length).toBeGreaterThan(50);
    const ids = operations.map((o) => o.op.operationId);
    expect(new Set(ids).size).toBe(ids.length);
    const described = new Set(doc.tags.map((t: { name: string; description: string }) => t.description && t.name));
    for (const { path, method, op } of operations) {
      expect(
        op.tags.every((t: string) => described.has(t)),
        `${method} ${path} tags`,
      ).toBe(true);
      expect(op.description, `${method} ${path}`).toMatch(/\w/);
      for (const [status, response] of Object.entries<any>(op.responses)) {
        if (Number(status) >= 400) expect(Object.keys(response.content), `${method} ${path} ${status}`).toEqual(['application/json']);
      }
    }
    expect(doc.servers[0].url).toBe('{origin}');
    expect(doc.paths['/api/v1/events'].get.responses['200'].content).toHaveProperty(['text/event-stream']);
    expect(doc.paths['/api/v1/syncs/{id}/pause'].post.requestBody.required).toBe(false);
  });

  it('status, overview, agents, cluster, identity, history, activity, offsets, slots, notifications and export answers are typed: no open object in their schemas', () => {
    const refs = (op: any) => JSON.stringify(op.responses['200'].content['application/json'].schema);
    expect(refs(doc.paths['/api/v1/status'].get)).toContain('#/components/schemas/SyncStatus');
    expect(refs(doc.paths['/api/v1/overview'].get)).toContain('#/components/schemas/SyncOverview');
    expect(refs(doc.paths['/api/v1/syncs/{id}/status'].get)).toContain('#/components/schemas/SyncStatus');
    expect(refs(doc.paths['/api/v1/agents'].get)).toContain('#/components/schemas/AgentView');
    expect(refs(doc.paths['/api/v1/cluster'].get)).toContain('#/components/schemas/ClusterHealth');
    expect(refs(doc.paths['/api/v1/auth/me'].get)).toContain('#/components/schemas/WhoAmI');
    for (const name of ['SyncStatus', 'Lag', 'SyncHealth', 'SyncOverview', 'AgentView', 'ClusterHealth', 'UserView', 'WhoAmI']) {
      const schema = doc.components.schemas[name];
      expect(schema.properties, name).toBeDefined();
      expect(schema.additionalProperties, name).not.toBe(true);
    }
    const listed = {
      '/api/v1/syncs': 'SyncList',
      '/api/v1/export': 'ExportDocument',
      '/api/v1/syncs/{id}/activity': 'SyncActivity',
      '/api/v1/syncs/{id}/timeline': 'TimelineEvent',
      '/api/v1/syncs/{id}/history': 'HistoryEntry',
      '/api/v1/datasources/{id}/history': 'HistoryEntry',
      '/api/v1/syncs/{id}/errors': 'DeadLetterView',
      '/api/v1/syncs/{id}/offset/history': 'OffsetChange',
      '/api/v1/slots': 'DataSourceSlotsView',
      '/api/v1/agents/events': 'AgentEvent',
      '/api/v1/notifications/incidents': 'Incident',
      '/api/v1/notifications/deliveries': 'Delivery',
    };
    for (const [path, name] of Object.entries(listed)) {
      expect(refs(doc.paths[path].get), path).toContain(`#/components/schemas/${name}`);
      expect(doc.components.schemas[name].properties, name).toBeDefined();
      expect(doc.components.schemas[name].additionalProperties, name).not.toBe(true);
    }
    expect(doc.components.schemas.SyncStatus.properties.state.anyOf.map((s: { enum?: string[]; const?: string }) => s.enum?.[0] ?? s.const)).toContain('idle');
  });

  it('a client generated with openapi-typescript + openapi-fetch type-checks a CI job (and refuses a wrong field), and the job runs', async () => {
    const dir = await mkdtemp(join(import.meta.dirname, '.openapi-client-'));
    try {
      await writeFile(join(dir, 'idra-api.ts'), astToString(await openapiTS(doc)));
      await writeFile(join(dir, 'ci-job.ts'), CI_JOB);
      // One compiler run over the job and a copy asking for a field the API does not have: only the copy fails.
      await writeFile(join(dir, 'wrong-job.ts'), CI_JOB.replace('status.lag?.rows', 'status.lag?.rowz'));
      const tsc = run(
        TSC,
        [
          '--noEmit',
          '--strict',
          '--target',
          'es2022',
          '--module',
          'nodenext',
          '--allowImportingTsExtensions',
          '--skipLibCheck',
          '--types',
          'node',
          'ci-job.ts',
          'wrong-job.ts',
        ],
        {
          cwd: dir,
        },
      );
      const { stdout } = await tsc.then(
        () => ({ stdout: 'no error at all' }),
        (err: { stdout: string }) => err,
      );
      expect(stdout.trim().split('\n')).toEqual([
        expect.stringMatching(/^wrong-job\.ts\(\d+,\d+\): error TS\d+: Property 'rowz' does not exist on type '\{ rows\?: number/),
      ]);
      await writeFile(join(dir, 'package.json'), '{"type": "module"}');
      expect((await s.call('POST', '/api/v1/syncs', { token: s.tokens.operator, body: sqliteSync('contract-job') })).status).toBe(201);
      const job = await run(process.execPath, ['ci-job.ts'], { cwd: dir, env: { ...process.env, IDRA_URL: base, IDRA_PASSWORD: ADMIN_PASSWORD } });
      expect(job.stdout).toMatch(/^history contract-job: created by ops via api; 0 rows in the last hour$/m);
      expect(job.stdout).toMatch(/^export contract-job 0$/m);
      expect(job.stdout).toMatch(/^logged in as admin admin$/m);
      expect(job.stdout).toMatch(/^etcd healthy /m);
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });
});
