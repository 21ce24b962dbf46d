import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { tempDir } from '@idra/testkit';
import type { Column, Destination, Row, Sync } from '@idra/core';
import { createConnectorRegistry } from '../../registry.ts';
import { createTestDb, makeSync, privateMariadb, TestRun, type TestDb } from '../../testing/fixtures.ts';

const COLUMNS: Column[] = [
  { name: 'id', type: 'int64' },
  { name: 't', type: 'text' },
  { name: 'b', type: 'bytes' },
  { name: 'j', type: 'json' },
  { name: 'd', type: 'decimal', precision: 30, scale: 10 },
  { name: 'ts', type: 'timestamp' },
  { name: 'flag', type: 'boolean' },
  { name: 'f', type: 'float' },
  { name: 'n', type: 'int32' },
];
const TABLE = `id bigint primary key, t longtext, b longblob, j json, d decimal(30,10), ts datetime(6), flag boolean, f double, n int`;

const ROWS: Row[] = [
  {
    id: '1',
    t: 'tab\there\nnew line\r back\\slash \\N ünïcødé ✓ 漢字',
    b: Buffer.from([0, 9, 10, 13, 92, 78, 255]),
    j: { a: [1, 'x\ty'], b: null, big: 12345678901234567890n },
    d: '12345678901234567890.0123456789',
    ts: '2024-01-01 00:00:00.000001',
    flag: true,
    f: 0.1,
    n: -5,
  },
  { id: '2', t: '', b: Buffer.alloc(0), j: [], d: '-0.0000000001', ts: '1970-01-01 00:00:00', flag: false, f: -1e300, n: 0 },
  { id: '3', t: '\\N', b: null, j: null, d: null, ts: null, flag: null, f: null, n: null },
  { id: '4', t: null, b: null, j: { s: 'a "quoted" string' }, d: '0', ts: null, flag: null, f: null, n: 2147483647 },
];

/** Every column as the server prints it (bytes as hex), ordered by id. */
const printed = (db: TestDb, table: string) =>
  db.exec(
    `select id, t, hex(b) as b, cast(j as char) as j, cast(d as char) as d, cast(ts as char) as ts, flag, cast(f as char) as f, n from ${table} order by id`,
  );
const loads = async (db: TestDb) => Number((await db.exec(`show global status like 'Com_load'`))[0]!.Value);
const position = { kind: 'id', value: null } as const;
const signal = new AbortController().signal;

async function withDestination<T>(sync: Sync, fn: (destination: Destination) => Promise<T>): Promise<T> {
  const destination = await createConnectorRegistry().openDestination({ sync, endpoint: sync.destination, role: 'destination' });
  try {
    return await fn(destination);
  } finally {
    await destination.close();
  }
}

describe('MariaDB destination: LOAD DATA LOCAL INFILE from memory while keys are new', () => {
  let db: TestDb;
  let pg: TestDb;
  let off: { url: string; stop(): Promise<void> };
  let statementsDb: TestDb;
  beforeAll(async () => {
    [db, pg, off] = await Promise.all([createTestDb('mysql'), createTestDb('postgres'), privateMariadb()]);
    statementsDb = await createTestDb('mysql', off.url);
    await statementsDb.exec('set global local_infile = 0');
  });
  afterAll(async () => {
    await Promise.all([db?.drop(), pg?.drop(), statementsDb?.drop()]);
    await off?.stop();
  });

  it('writes every value exactly as INSERT statements do: text with tabs, newlines and backslashes, bytes, JSON, NULLs', async () => {
    await db.exec(`create table exact (${TABLE})`);
    await statementsDb.exec(`create table exact (${TABLE})`);
    const before = await loads(db);
    const loaded = await withDestination(makeSync(db, db, { destinationTable: 'exact', keyColumns: ['id'], writeMode: 'insert' }), (d) =>
      d.write({ columns: COLUMNS, rows: ROWS, position }, signal),
    );
    expect(await loads(db)).toBeGreaterThan(before);
    expect(loaded.warning).toBeUndefined();
    const statementsBefore = await loads(statementsDb);
    const byStatements = await withDestination(
      makeSync(statementsDb, statementsDb, { destinationTable: 'exact', keyColumns: ['id'], writeMode: 'insert' }),
      (d) => d.write({ columns: COLUMNS, rows: ROWS, position }, signal),
    );
    // The server refuses LOAD DATA LOCAL: statements write, and the write says why it is slower.
    expect(await loads(statementsDb)).toBe(statementsBefore);
    expect(byStatements.warning).toMatch(/local_infile is OFF.*SET GLOBAL local_infile = 1/);
    const rows = await printed(db, 'exact');
    expect(rows).toEqual(await printed(statementsDb, 'exact'));
    expect(rows[0]).toMatchObject({ t: ROWS[0]!.t, b: '00090A0D5C4EFF', d: '12345678901234567890.0123456789', ts: '2024-01-01 00:00:00.000001' });
    expect(rows[2]).toMatchObject({ t: '\\N', b: null, j: null });
  });

  it('a batch meeting existing keys is written by statements: upsert overwrites them, insert keeps them', async () => {
    for (const writeMode of ['upsert', 'insert'] as const) {
      await db.exec(`create table keyed_${writeMode} (id bigint primary key, name text)`);
      const sync = makeSync(db, db, { destinationTable: `keyed_${writeMode}`, keyColumns: ['id'], writeMode });
      const columns: Column[] = [COLUMNS[0]!, { name: 'name', type: 'text' }];
      const batches: Row[][] = [
        [
          { id: '1', name: 'one' },
          { id: '2', name: 'two' },
        ],
        [
          { id: '2', name: 'two again' },
          { id: '3', name: 'three' },
        ],
      ];
      await withDestination(sync, async (d) => {
        for (const rows of batches) await d.write({ columns, rows, position }, signal);
      });
      expect(await db.exec(`select id, name from keyed_${writeMode} order by id`)).toEqual([
        { id: '1', name: 'one' },
        { id: '2', name: writeMode === 'upsert' ? 'two again' : 'two' },
        { id: '3', name: 'three' },
      ]);
    }
  });

  it('a value the column cannot hold is not truncated: the row is set aside by its error (onError skip), every other row is written', async () => {
    await pg.exec(`create table src (id bigint primary key, s text)`);
    await pg.exec(`insert into src select i, 'v' || i from generate_series(1, 40) i`);
    await pg.exec(`update src set s = 'far too long for five' where id = 23`);
    await db.exec(`create table narrow (id bigint primary key, s varchar(5))`);
    const sync = makeSync(pg, db, { destinationTable: 'narrow', keyColumns: ['id'], writeMode: 'insert', onError: 'skip', batchSize: 20 });
    const run = new TestRun(sync, await tempDir('idra-state-'));
    const status = await run.untilIdle();
    expect(status.rowsSkipped).toBe(1);
    expect(run.deadLetters.map((d) => d.row)).toEqual([{ id: '23', s: 'far too long for five' }]);
    expect(run.deadLetters[0]!.error).toMatch(/too long/i);
    const rows = await db.exec(`select id, s from narrow order by id`);
    expect(rows).toHaveLength(39);
    expect(rows.every((r) => r.s === `v${String(r.id)}`)).toBe(true);
  });
});
