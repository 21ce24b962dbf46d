import pg from 'pg';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { createDatabase, createPostgresRole, until, type TestRole } from '@idra/testkit';
import { defaultSlotName } from '@idra/connectors';
import { sqliteSync, startTestServer, type TestServer } from '../testing/harness.ts';

describe('cdc syncs: Test connection says what the change log needs, deleting a sync drops its slot', () => {
  let s: TestServer;
  let db: Awaited<ReturnType<typeof createDatabase>>;
  let admin: pg.Client;
  let role: TestRole;
  beforeAll(async () => {
    s = await startTestServer();
    db = await createDatabase('postgres', inject('pgUrl'));
    admin = new pg.Client({ connectionString: db.url });
    await admin.connect();
    await admin.query('create table src (id bigint primary key, label text)');
    role = await createPostgresRole(db.url, ['src']);
    for (const [id, url] of [
      ['plain-user', role.url],
      ['replicator', db.url],
    ]) {
      expect((await s.call('POST', '/api/v1/datasources', { token: s.tokens.operator, body: { id, connector: 'postgres', connection: { url } } })).status).toBe(
        201,
      );
    }
  });
  afterAll(async () => {
    await s.close();
    await role.drop();
    await admin.end();
    await db.drop();
  });

  const cdcSync = (id: string, dataSourceId: string) => ({
    ...sqliteSync(id),
    source: { connector: 'postgres', dataSourceId, table: 'src' },
    mode: 'cdc',
    cursorColumn: undefined,
  });

  it('Test connection tells whether a cdc sync could read the change log, and what to change', async () => {
    const plain = await s.call('POST', '/api/v1/datasources/plain-user/test', { token: s.tokens.operator });
    expect(plain.body).toMatchObject({
      ok: true,
      changeLog: { ready: false, problems: [`the user cannot read the change log: ALTER ROLE "${role.name}" REPLICATION`] },
    });
    const replicator = await s.call('POST', '/api/v1/datasources/replicator/test', { token: s.tokens.operator });
    expect(replicator.body).toMatchObject({ ok: true, changeLog: { ready: true, problems: [] } });
  });

  it('Test connection and the sync check on a MariaDB data source name what its binlog lacks', async () => {
    // The shared test MariaDB runs without a binlog (--skip-log-bin), in the server's default MIXED format.
    const maria = await createDatabase('mysql', inject('mysqlUrl'));
    try {
      const id = `maria-${process.pid}`;
      const created = await s.call('POST', '/api/v1/datasources', {
        token: s.tokens.operator,
        body: { id, connector: 'mysql', connection: { url: maria.url } },
      });
      expect(created.status).toBe(201);
      const tested = await s.call('POST', `/api/v1/datasources/${id}/test`, { token: s.tokens.operator });
      expect(tested.body).toMatchObject({
        ok: true,
        changeLog: {
          ready: false,
          problems: [
            'the server writes no binlog (log_bin is OFF): add log_bin and a server_id under [mysqld] in my.cnf and restart the server',
            "the binlog is in MIXED format: set binlog_format = ROW in my.cnf (SET GLOBAL binlog_format = 'ROW' for new sessions until the restart)",
          ],
        },
      });
      const sync = { ...cdcSync(`maria-check-${process.pid}`, id), source: { connector: 'mysql', dataSourceId: id, table: 'src' } };
      const refused = await s.call('POST', '/api/v1/syncs/check', { token: s.tokens.operator, body: sync });
      expect(refused.body).toMatchObject({ ok: false, problem: { code: 'IDRA_ERR_CONFIG_CHANGE_LOG' } });
      expect(refused.body.problem.message).toContain('log_bin is OFF');
      await s.call('DELETE', `/api/v1/datasources/${id}`, { token: s.tokens.operator });
    } finally {
      await maria.drop();
    }
  });

  it("lists Idra's replication slots with the WAL each keeps, naming a slot no sync has", async () => {
    const id = `cdc-owned-${process.pid}`;
    expect((await s.call('POST', '/api/v1/syncs', { token: s.tokens.operator, body: { ...cdcSync(id, 'replicator'), enabled: false } })).status).toBe(201);
    const orphan = `idra_orphan_${process.pid}`;
    for (const slot of [defaultSlotName(id), orphan]) await admin.query("select pg_create_logical_replication_slot($1, 'pgoutput')", [slot]);
    try {
      const tested = await s.call('POST', '/api/v1/datasources/replicator/test', { token: s.tokens.operator });
      const slots = tested.body.changeLog.slots as Array<{ name: string; sync: string | null; lagBytes: number; active: boolean }>;
      expect(slots.find((x) => x.name === defaultSlotName(id))).toMatchObject({ sync: id, active: false, lagBytes: expect.any(Number) });
      expect(slots.find((x) => x.name === orphan)).toMatchObject({ sync: null, active: false });
    } finally {
      for (const slot of [defaultSlotName(id), orphan]) await admin.query('select pg_drop_replication_slot($1)', [slot]).catch(() => {});
      await s.call('DELETE', `/api/v1/syncs/${id}`, { token: s.tokens.operator });
    }
  });

  it('the sync check refuses a cdc sync whose user cannot read the change log', async () => {
    const refused = await s.call('POST', '/api/v1/syncs/check', { token: s.tokens.operator, body: cdcSync('cdc-check', 'plain-user') });
    expect(refused.body).toMatchObject({ ok: false, problem: { code: 'IDRA_ERR_CONFIG_CHANGE_LOG' } });
    expect(refused.body.problem.message).toContain('REPLICATION');
    expect((await s.call('POST', '/api/v1/syncs/check', { token: s.tokens.operator, body: cdcSync('cdc-check', 'replicator') })).body.ok).toBe(true);
  });

  it("drops the sync's replication slot and publication when the sync is deleted", async () => {
    const id = `cdc-delete-${process.pid}`;
    const slot = defaultSlotName(id);
    expect((await s.call('POST', '/api/v1/syncs', { token: s.tokens.operator, body: { ...cdcSync(id, 'replicator'), enabled: false } })).status).toBe(201);
    // What an agent would have made for the sync.
    await admin.query(`create publication ${slot} for table src`);
    await admin.query("select pg_create_logical_replication_slot($1, 'pgoutput')", [slot]);
    expect((await s.call('DELETE', `/api/v1/syncs/${id}`, { token: s.tokens.operator })).status).toBe(204);
    await until(
      'the slot to be gone',
      async () => (await admin.query('select 1 from pg_replication_slots where slot_name = $1', [slot])).rowCount === 0,
      10_000,
    );
    expect((await admin.query('select 1 from pg_publication where pubname = $1', [slot])).rowCount).toBe(0);
  });
});
