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

/**
 * The places of bodies and answers that are open on purpose: what they hold is the user's or a foreign
 * format's, not the API's. Each says so in its own description (it must contain "open"); any other open
 * place fails the test.
 */
const OPEN_BY_DESIGN: Array<{ where: RegExp; why: string }> = [
  { where: /\.connection\.options$/, why: "a driver's own settings, handed to it as they are" },
  { where: /\.(source|destination)\.options$/, why: 'one map for every connector: the schema of each is served by GET /connectors (ConnectorDescription)' },
  {
    where: /^ConnectorDescription\.roles\.(source|destination)\.options\.properties\{\*\}(\.default)?$/,
    why: 'the JSON Schema of one option: JSON Schema has keywords of its own, and a default is of the option’s type',
  },
  { where: /^(SyncStatus\.lastError|DeadLetterView)\.row$/, why: "a row of the user's table, by column" },
  { where: /\|stream\.value$/, why: "a stream position is the connector's own (Kafka partition offsets, a MongoDB resume token, an S3 key)" },
  { where: /^HistoryEntry\.changes\[\]\.(old|new)$/, why: 'a changed value is any part of a sync or data source document' },
  { where: /^ErrorBody\.details$/, why: 'issues are typed; the other keys depend on the error code' },
  {
    where: /^POST \/api\/v1\/import body\|\d+(\[\])?$/,
    why: 'an import is an Idra export or sync(s), or Go Idra’s documents: the handler tells them apart, field by field',
  },
  { where: /^POST \/api\/v1\/migrate\/go-idra body\.syncs\[\]$/, why: "Go Idra's own sync documents, read field by field with a report" },
];

type Schema = Record<string, any>;
/** Every place of the document's bodies and answers that is not typed: an object open to any field, a map of anything, a value of any JSON. */
function openPlaces(doc: Schema): Array<{ where: string; description: string | undefined }> {
  const places: Array<{ where: string; description: string | undefined }> = [];
  const untyped = (s: Schema) => ['type', '$ref', 'anyOf', 'oneOf', 'allOf', 'enum', 'const', 'properties', 'items'].every((k) => !(k in s));
  const visit = (s: Schema | undefined, where: string, inherited?: string): void => {
    // A named schema is visited once, by its name.
    if (!s || typeof s !== 'object' || s.$ref) return;
    const description: string | undefined = s.description ?? inherited;
    if (untyped(s)) return void places.push({ where, description });
    const extra = s.additionalProperties;
    const anyField = extra === true || (typeof extra === 'object' && untyped(extra));
    // An object of no field at all is open, unless it is null (enum [null]) or the sum of its allOf parts (visited below).
    if (s.type === 'object' && (anyField || (extra === undefined && !s.properties && !s.enum && !s.allOf))) places.push({ where, description });
    for (const [name, property] of Object.entries<Schema>(s.properties ?? {})) visit(property, `${where}.${name}`);
    if (typeof extra === 'object' && !untyped(extra)) visit(extra, `${where}{*}`);
    visit(s.items, `${where}[]`, description);
    for (const key of ['anyOf', 'oneOf', 'allOf'])
      for (const [i, branch] of (s[key] ?? []).entries()) visit(branch, `${where}|${branch.properties?.kind?.enum?.[0] ?? i}`, description);
  };
  for (const [name, schema] of Object.entries<Schema>(doc.components.schemas)) visit(schema, name);
  for (const [path, operations] of Object.entries<Schema>(doc.paths)) {
    for (const [method, op] of Object.entries<Schema>(operations)) {
      const at = `${method.toUpperCase()} ${path}`;
      visit(op.requestBody?.content?.['application/json']?.schema, `${at} body`);
      for (const [status, response] of Object.entries<Schema>(op.responses ?? {})) {
        for (const content of Object.values<Schema>(response.content ?? {})) visit(content.schema, `${at} ${status}`);
      }
    }
  }
  return places;
}

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

// A paused sync replays from id 41 on, and its offset reads back by kind; drafts are checked against the connector catalogue.
for (const sync of (list.data?.syncs ?? []).filter((s) => s.enabled === false)) {
  const params = { path: { id: sync.id } };
  const set = await idra.PUT('/api/v1/syncs/{id}/offset', { params, headers, body: { position: { kind: 'id', value: '41' }, reason: 'replay from 42 on' } });
  if (!set.data) throw new Error(\`offset: \${set.error?.code}\`);
  const { offset, runningOn } = (await idra.GET('/api/v1/syncs/{id}/offset', { params, headers })).data ?? set.data;
  const where = offset?.kind === 'id' ? \`id > \${offset.value}\` : offset?.kind === 'full' ? \`pass \${offset.value.run}\` : offset?.kind;
  console.log(\`offset \${sync.id}: \${where} by \${offset?.agentId} at \${offset?.committedAt ? 'a time' : '-'}, running on \${runningOn ?? 'no agent'}\`);
  const draft = await idra.POST('/api/v1/syncs/validate', { headers, body: { ...sync, batchSize: 500 } });
  console.log(\`draft \${sync.id}: batches of \${draft.data?.normalized.batchSize}, polls every \${draft.data?.normalized.pollIntervalMs} ms\`);
}
const connectors = await idra.GET('/api/v1/connectors', { headers });
console.log('cdc sources', (connectors.data ?? []).filter((c) => c.roles.source?.modes.includes('cdc')).map((c) => c.kind).join(','));
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

  it('status, overview, agents, cluster, identity, history, activity, offsets, slots, notifications, validation, import/export, migration and connector answers are named schemas', () => {
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
      '/api/v1/syncs/{id}/offset': 'OffsetView',
      '/api/v1/connectors': 'ConnectorDescription',
      'put /api/v1/syncs/{id}/offset': 'OffsetView',
      'post /api/v1/syncs/validate': 'ValidateResult',
      'post /api/v1/import': 'ImportResult',
      'post /api/v1/migrate/go-idra': 'GoMigrationResult',
    };
    for (const [route, name] of Object.entries(listed)) {
      const [method, path] = route.includes(' ') ? route.split(' ') : ['get', route];
      expect(refs(doc.paths[path!][method!]), route).toContain(`#/components/schemas/${name}`);
      expect(doc.components.schemas[name].properties, name).toBeDefined();
    }
    for (const name of ['ImportResult', 'GoMigrationResult'])
      expect(JSON.stringify(doc.components.schemas[name])).toContain('#/components/schemas/GoSyncReport');
    expect(JSON.stringify(doc.components.schemas.OffsetView)).toContain('#/components/schemas/OffsetDocument');
    expect(doc.components.schemas.SyncStatus.properties.state.anyOf.map((s: { enum?: string[]; const?: string }) => s.enum?.[0] ?? s.const)).toContain('idle');
  });

  it('no body or answer has an open object, map or value but those open by design, each saying so in its description', () => {
    const places = openPlaces(doc);
    const unjustified = places.filter((p) => !OPEN_BY_DESIGN.some((o) => o.where.test(p.where))).map((p) => p.where);
    expect(unjustified).toEqual([]);
    expect(places.filter((p) => !/\bopen\b/.test(p.description ?? '')).map((p) => `${p.where}: ${p.description}`)).toEqual([]);
    // Each exception is still needed (a place typed since is taken off the list).
    for (const o of OPEN_BY_DESIGN)
      expect(
        places.some((p) => o.where.test(p.where)),
        String(o.where),
      ).toBe(true);
    // Request bodies that used to be open: notifications, drafts and bulk creation.
    for (const [path, method] of [
      ['/api/v1/notifications/channels', 'post'],
      ['/api/v1/notifications/rules/{id}', 'put'],
      ['/api/v1/syncs/validate', 'post'],
      ['/api/v1/syncs/check', 'post'],
    ] as const) {
      expect(doc.paths[path][method].requestBody.content['application/json'].schema.properties.id, `${method} ${path}`).toBeDefined();
    }
    expect(doc.paths['/api/v1/syncs/bulk'].post.requestBody.content['application/json'].schema.properties.syncs.items.properties.mode).toBeDefined();
  });

  it('a client generated with openapi-typescript + openapi-fetch type-checks a CI job (and refuses a wrong field), and the job runs', async () => {
    const dir = await mkdtemp(join(import.meta.dirname, '.openapi-client-'));
    try {
      await writeFile(join(dir, 'idra-api.ts'), astToString(await openapiTS(doc)));
      await writeFile(join(dir, 'ci-job.ts'), CI_JOB);
      // One compiler run over the job and a copy asking for a field the API does not have: only the copy fails.
      await writeFile(join(dir, 'wrong-job.ts'), CI_JOB.replace('status.lag?.rows', 'status.lag?.rowz').replace('offset.value.run', 'offset.value.runs'));
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
        expect.stringMatching(/^wrong-job\.ts\(\d+,\d+\): error TS\d+: Property 'runs' does not exist on type '\{ run: number/),
      ]);
      await writeFile(join(dir, 'package.json'), '{"type": "module"}');
      const created = await s.call('POST', '/api/v1/syncs', { token: s.tokens.operator, body: sqliteSync('contract-job', { enabled: false }) });
      expect(created.status).toBe(201);
      const job = await run(process.execPath, ['ci-job.ts'], { cwd: dir, env: { ...process.env, IDRA_URL: base, IDRA_PASSWORD: ADMIN_PASSWORD } });
      expect(job.stdout).toMatch(/^history contract-job: created by ops via api; 0 rows in the last hour$/m);
      expect(job.stdout).toMatch(/^export contract-job 0$/m);
      expect(job.stdout).toMatch(/^logged in as admin admin$/m);
      expect(job.stdout).toMatch(/^etcd healthy /m);
      expect(job.stdout).toMatch(/^offset contract-job: id > 41 by manual:admin at a time, running on no agent$/m);
      expect(job.stdout).toMatch(/^draft contract-job: batches of 500, polls every 5000 ms$/m);
      expect(job.stdout).toMatch(/^cdc sources (\w+,)*postgres(,\w+)*$/m);
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });
});
