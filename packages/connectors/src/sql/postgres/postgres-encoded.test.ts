import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { tempDir, until } from '@idra/testkit';
import type { ConnectorRegistry, Row } from '@idra/core';
import { defaultSlotName } from './postgres-cdc-options.ts';
import { createTestDb, makeSync, registryWithSourceReads, TestRun, type TestDb } from '../../testing/fixtures.ts';

/** A registry whose sources note the encoding of every batch with rows (undefined: decoded values). */
function watchedRegistry(): { registry: ConnectorRegistry; formats: Array<string | undefined> } {
  const formats: Array<string | undefined> = [];
  const registry = registryWithSourceReads((read) => async (...args) => {
    const batch = await read(...args);
    if (batch.rows.length > 0) formats.push(batch.encoding?.format);
    return batch;
  });
  return { registry, formats };
}

/** Every column of a table as PostgreSQL prints it, ordered by id: equal text is an equal value of an equal type. */
async function printed(db: TestDb, table: string): Promise<Row[]> {
  const columns = (
    await db.exec(`select attname from pg_attribute where attrelid = '${table}'::regclass and attnum > 0 and not attisdropped order by attnum`)
  ).map((r) => String(r.attname));
  return db.exec(`select ${columns.map((c) => `${c}::text as ${c}, pg_typeof(${c})::text as ${c}_type`).join(', ')} from ${table} order by id`);
}

const COLUMNS = `id bigint primary key, n numeric(30,10), free numeric, tz timestamptz(6), t timestamp(6), d date, j json, jb jsonb, ints int[], texts text[],
  b bytea, u uuid, f float8, r real, flag boolean, txt text, vc varchar(12), span interval, addr inet, small smallint`;

const VALUES = `
  (1, 12345678901234567890.0123456789, 'NaN', '2024-01-01 00:00:00.000001+00', '1999-12-31 23:59:59.999999', '2000-02-29', '{"a": 1.10, "b": [1, 2]}', '{"z": 123456789012345678901234567890}',
   '{1,NULL,3}', '{"tab\there","new\nline","back\\\\slash","quote\\"d",NULL}', '\\x00ff10', 'a0eebc99-9c0b-4ef8-bb6d-6bb9bd380a11', 0.1, 3.4028235e38, true,
   E'tab\\there\\nnewline \\\\ backslash ünïcødé ✓ 漢字', 'short', '1 year 2 mons 3 days 04:05:06.789', '192.168.0.1/24', -32768),
  (2, -0.0000000001, 1e-30, '1970-01-01 00:00:00+00', '0001-01-01 00:00:00', '4713-01-01 BC', 'null', '[]', '{}', '{}', '\\x', '00000000-0000-0000-0000-000000000000',
   '-Infinity', 'NaN', false, '', '', '-1 microsecond', '::1', 32767),
  (9223372036854775807, null, null, null, null, null, null, null, null, null, null, null, null, null, null, null, null, null, null, null)`;

describe('PostgreSQL to PostgreSQL: rows move still encoded (binary COPY out and in)', () => {
  let src: TestDb;
  let dst: TestDb;
  beforeAll(async () => {
    src = await createTestDb('postgres');
    dst = await createTestDb('postgres');
    await src.exec(`create table src (${COLUMNS})`);
    await src.exec(`insert into src values ${VALUES}`);
  });
  afterAll(async () => {
    await src?.drop();
    await dst?.drop();
  });

  it('every value and type arrives exact, in batches that page by a 64-bit id', async () => {
    const { registry, formats } = watchedRegistry();
    const sync = makeSync(src, dst, { destinationTable: 'created', keyColumns: ['id'], writeMode: 'insert', batchSize: 2 });
    await dst.exec(`create table created (${COLUMNS})`);
    await new TestRun(sync, await tempDir('idra-state-'), registry).untilIdle();
    expect(formats).toEqual(['postgres-binary', 'postgres-binary']);
    expect(await printed(dst, 'created')).toEqual(await printed(src, 'src'));
  });

  it('upserts overwrite existing keys through the staging table, and keys new to the table are inserted', async () => {
    await dst.exec(`create table upserted (${COLUMNS})`);
    await dst.exec(`insert into upserted (id, txt, ints) values (1, 'stale', '{9}'), (2, 'stale', null)`);
    const { registry, formats } = watchedRegistry();
    const sync = makeSync(src, dst, { destinationTable: 'upserted', keyColumns: ['id'], writeMode: 'upsert', batchSize: 10 });
    await new TestRun(sync, await tempDir('idra-state-'), registry).untilIdle();
    expect(formats).toEqual(['postgres-binary']);
    expect(await printed(dst, 'upserted')).toEqual(await printed(src, 'src'));
  });

  it('timestamp mode pages by (timestamptz, id) read back from the encoded rows, and text keys with any character', async () => {
    await src.exec(`create table events (id text primary key, at timestamptz(6) not null, body jsonb)`);
    await src.exec(`insert into events select 'key ' || chr(9) || i || ' ü\\', '2024-05-01 12:00:00.000001+00'::timestamptz + (i / 3) * interval '1 microsecond', jsonb_build_object('i', i)
      from generate_series(1, 50) i`);
    await dst.exec(`create table events (id text primary key, at timestamptz(6) not null, body jsonb)`);
    const { registry, formats } = watchedRegistry();
    const sync = makeSync(src, dst, {
      sourceTable: 'events',
      destinationTable: 'events',
      mode: 'timestamp',
      cursorColumn: 'at',
      tiebreakerColumn: 'id',
      keyColumns: ['id'],
      writeMode: 'upsert',
      batchSize: 7,
    });
    const run = new TestRun(sync, await tempDir('idra-state-'), registry);
    await run.untilIdle();
    expect(formats.length).toBe(8);
    expect(new Set(formats)).toEqual(new Set(['postgres-binary']));
    expect(run.status.rowsCopied).toBe(50);
    expect(await printed(dst, 'events')).toEqual(await printed(src, 'events'));
  });

  it('a row the destination rejects is set aside with all its values decoded, and the others are written', async () => {
    await dst.exec(`create table checked (${COLUMNS}, check (small > 0))`);
    const { registry, formats } = watchedRegistry();
    const sync = makeSync(src, dst, { destinationTable: 'checked', keyColumns: ['id'], onError: 'skip', batchSize: 10 });
    const run = new TestRun(sync, await tempDir('idra-state-'), registry);
    const status = await run.untilIdle();
    expect(formats).toEqual(['postgres-binary']);
    expect([status.rowsCopied, status.rowsSkipped]).toEqual([2, 1]);
    expect(await dst.exec('select id::text as id from checked order by id')).toEqual([{ id: '2' }, { id: '9223372036854775807' }]);
    const [letter] = run.deadLetters;
    // The values a plain (decoded) read gives; a type read without a decoder shows as the hex of its binary form.
    const plain = (await src.rows('src', ['id']))[0]!;
    const { ints, texts, span, addr, r, ...decoded } = letter!.row;
    expect(decoded).toEqual(Object.fromEntries(Object.entries(plain).filter(([k]) => k in decoded)));
    expect(Object.keys(decoded).length).toBe(Object.keys(plain).length - 5);
    expect(r).toBe(Math.fround(plain.r as number));
    for (const hex of [ints, texts, span, addr]) expect(hex).toMatch(/^\\x[0-9a-f]+$/);
    expect(letter!.error).toMatch(/check/);
  });

  it('rows that cannot pass encoded are written decoded, and the types Idra carries as text arrive exact: arrays, intervals, points', async () => {
    // numeric[] once came back as floats, timestamptz[] as Dates without microseconds, and intervals and
    // arrays were written back as JSON, which their columns refuse.
    const columns = (small: string) =>
      `id bigint primary key, ints int[], nums numeric[], stamps timestamptz(6)[], texts text[], span interval, spans interval[], pt point, grid int[][], jb jsonb, jn json, small ${small}`;
    await src.exec(`create table carried (${columns('smallint')})`);
    await src.exec(`insert into carried values
      (1, '{1,NULL,3}', '{12345678901234567890.0123456789,NaN,-0.000000000000000001}', '{"2024-01-01 00:00:00.000001+00","1999-12-31 23:59:59.999999+00"}',
       '{"tab\there","quote\\"d","back\\\\slash",NULL,"{braces}",""}', '1 year 2 mons 3 days 04:05:06.789', '{"1 day","-1 microsecond"}', '(1.5,-2)', '{{1,2},{3,4}}', 'null', 'null', 7),
      (2, '{}', '{}', '{}', '{}', '0', '{}', '(0,0)', '{}', '{"x":[1,null]}', '{"x":[1,null]}', 8),
      (3, null, null, null, null, null, null, null, null, null, null, 9)`);
    // One column of another type: the destination cannot take the encoded rows as they are.
    await dst.exec(`create table carried (${columns('int')})`);
    const { registry, formats } = watchedRegistry();
    const sync = makeSync(src, dst, { sourceTable: 'carried', destinationTable: 'carried', keyColumns: ['id'], writeMode: 'upsert', batchSize: 10 });
    const run = new TestRun(sync, await tempDir('idra-state-'), registry);
    const status = await run.untilIdle();
    expect(formats).toEqual([undefined]);
    expect([status.rowsCopied, status.rowsSkipped]).toEqual([3, 0]);
    const withoutSmallType = (rows: Row[]) => rows.map(({ small_type: _, ...rest }) => rest);
    expect(withoutSmallType(await printed(dst, 'carried'))).toEqual(withoutSmallType(await printed(src, 'carried')));
    // A JSON null is a value, not SQL NULL (it once arrived as SQL NULL).
    expect(await dst.exec(`select id, jb is null as jb_sql_null, jn is null as jn_sql_null, jb::text as jb from carried order by id`)).toEqual([
      { id: '1', jb_sql_null: false, jn_sql_null: false, jb: 'null' },
      { id: '2', jb_sql_null: false, jn_sql_null: false, jb: '{"x": [1, null]}' },
      { id: '3', jb_sql_null: true, jn_sql_null: true, jb: null },
    ]);
  });

  it('a destination column whose type changes while rows pass encoded: the rows are read again decoded, none is set aside', async () => {
    await src.exec(`create table growing (id bigint primary key, n numeric(30,10))`);
    await src.exec(`insert into growing values (1, 12345678901234567890.0123456789)`);
    await dst.exec(`create table growing (id bigint primary key, n numeric(30,10))`);
    const { registry, formats } = watchedRegistry();
    const sync = makeSync(src, dst, { sourceTable: 'growing', destinationTable: 'growing', keyColumns: ['id'], onError: 'skip', batchSize: 10 });
    const run = new TestRun(sync, await tempDir('idra-state-'), registry);
    await run.waitFor((s) => s.rowsCopied === 1 && s.state === 'idle');
    await dst.exec(`alter table growing alter column n type text`);
    await src.exec(`insert into growing values (2, -0.5)`);
    const status = await run.waitFor((s) => s.rowsCopied === 2 && s.state === 'idle');
    await run.runner.stop();
    expect(status.rowsSkipped).toBe(0);
    expect(run.deadLetters).toEqual([]);
    expect(formats[0]).toBe('postgres-binary');
    expect(formats.at(-1)).toBeUndefined();
    expect(await dst.exec('select id::text as id, n from growing order by id')).toEqual([
      { id: '1', n: '12345678901234567890.0123456789' },
      { id: '2', n: '-0.5000000000' },
    ]);
  });

  it('rows marked deleted at the source (softDeleteColumn) are deleted from the destination, read encoded', async () => {
    await src.exec(`create table marked (id bigint primary key, name text, deleted_at timestamptz)`);
    await src.exec(`insert into marked values (1, 'kept', null), (2, 'gone', '2024-01-01 00:00:00+00'), (3, 'kept too', null)`);
    await dst.exec(`create table marked (id bigint primary key, name text, deleted_at timestamptz)`);
    await dst.exec(`insert into marked values (2, 'gone', null)`);
    const { registry, formats } = watchedRegistry();
    const sync = makeSync(src, dst, {
      sourceTable: 'marked',
      destinationTable: 'marked',
      keyColumns: ['id'],
      writeMode: 'upsert',
      softDeleteColumn: 'deleted_at',
      deletes: 'delete',
      batchSize: 10,
    });
    await new TestRun(sync, await tempDir('idra-state-'), registry).untilIdle();
    expect(formats).toEqual(['postgres-binary']);
    expect(await dst.exec('select id::text as id, name from marked order by id')).toEqual([
      { id: '1', name: 'kept' },
      { id: '3', name: 'kept too' },
    ]);
  });

  it('the initial copy of a cdc sync moves encoded by ranges of a composite text key, then the stream moves decoded values', async () => {
    await src.exec(`create table changing (${COLUMNS}, k text not null default 'k', unique (id, k))`);
    await src.exec(`insert into changing select * from src`);
    // Keys with quotes and backslashes: the ranges' bounds are written into the COPY statement as literals.
    await src.exec(`insert into changing (id, k, txt) select g, E'it''s \\ k' || g, 'row ' || g from generate_series(10, 60) g`);
    await src.exec(`alter table changing drop constraint changing_pkey, add primary key (k, id)`);
    await dst.exec(`create table changing (${COLUMNS.replace(' primary key', '')}, k text not null, primary key (k, id))`);
    const { registry, formats } = watchedRegistry();
    const sync = makeSync(src, dst, {
      id: `cdc-encoded-${process.pid}`,
      sourceTable: 'changing',
      destinationTable: 'changing',
      mode: 'cdc',
      cursorColumn: undefined,
      keyColumns: ['k', 'id'],
      batchSize: 8,
      source: { connector: 'postgres', connection: src.connection, table: 'changing', options: { snapshotParallelism: 3 } },
    });
    const run = new TestRun(sync, await tempDir('idra-state-'), registry);
    try {
      await run.waitFor((s) => s.state === 'idle');
      expect(formats.length).toBeGreaterThan(3);
      expect(new Set(formats)).toEqual(new Set(['postgres-binary']));
      expect(await printed(dst, 'changing')).toEqual(await printed(src, 'changing'));
      // Rows with arrays, an interval and an inet: the stream's decoded values keep PostgreSQL's text of
      // them; a json column its text as written (spaces, a key given twice, numbers spelled 1.10, 1e3,
      // -0), jsonb its numbers' spelling. A JSON null stays a JSON null, not SQL NULL.
      await src.exec(`update changing set txt = 'changed', n = -1 where id = 30`);
      await src.exec(`update changing set txt = 'changed too', j = '{ "a" : 1.10,  "b": [1e3, -0], "a": 2 }', jb = '{"a":1.10}' where id in (1, 2)`);
      await src.exec(`update changing set j = 'null', jb = 'null' where id = 30`);
      await src.exec(`delete from changing where id between 10 and 20`);
      await run.waitFor(() => formats.includes(undefined));
      await until('the stream to bring the changes', async () => (await dst.exec(`select count(*)::int as n from changing`))[0]!.n === 43);
      expect(await printed(dst, 'changing')).toEqual(await printed(src, 'changing'));
      expect(await dst.exec(`select j is null as j_null, jb is null as jb_null, jb::text as jb from changing where id = 30`)).toEqual([
        { j_null: false, jb_null: false, jb: 'null' },
      ]);
    } finally {
      await run.runner.stop();
      // The walsender of a stopped stream lets go of its slot a moment later.
      const slot = defaultSlotName(sync.id);
      await until(
        'the slot to be released',
        async () => (await src.exec(`select 1 from pg_replication_slots where slot_name = '${slot}' and active`)).length === 0,
      );
      await src.exec(`select pg_drop_replication_slot(slot_name) from pg_replication_slots where slot_name = '${slot}'`);
    }
  });

  it('a column whose types do not store values alike moves decoded values, as before', async () => {
    await src.exec(`create type mood as enum ('sad', 'ok', 'happy')`);
    await src.exec(`create table moods (id bigint primary key, m mood, n numeric(10,2))`);
    await src.exec(`insert into moods values (1, 'happy', 1.5), (2, null, null)`);
    // A user type's OID differs from one database to the next: its values cannot be passed on encoded.
    await dst.exec(`create type mood as enum ('sad', 'ok', 'happy')`);
    await dst.exec(`create table moods (id bigint primary key, m mood, n numeric(10,2))`);
    const { registry, formats } = watchedRegistry();
    const sync = makeSync(src, dst, { sourceTable: 'moods', destinationTable: 'moods', keyColumns: ['id'], batchSize: 10 });
    await new TestRun(sync, await tempDir('idra-state-'), registry).untilIdle();
    expect(formats).toEqual([undefined]);
    expect(await printed(dst, 'moods')).toEqual(await printed(src, 'moods'));
  });
});
