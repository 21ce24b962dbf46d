import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import mysql from 'mysql2/promise';
import { startMariadb, until, type MariadbServer } from '@idra/testkit';
import { normalizeSync, validateSyncConfig, type Batch, type Position, type Row, type Source, type Sync } from '@idra/core';
import { MysqlCdcSource, type MysqlCdcOffset } from './mysql-cdc-source.ts';
import { mysqlDialect } from './mysql-dialect.ts';
import { changeLogProblems } from './mysql-cdc-check.ts';
import { CompiledQuery } from 'kysely';

// The binlog cdc source read directly, batch by batch, against a real MariaDB writing a row-format
// binlog with GTIDs: what it hands the runner is applied to a map by key here, and compared with
// the table at the end — and, value by value, with what the polling mysql source reads.

let server: MariadbServer;
let admin: mysql.Connection;
let url: string;
let n = 0;

beforeAll(async () => {
  server = await startMariadb({ binlog: true });
  admin = await mysql.createConnection({ uri: server.url, charset: 'utf8mb4' });
  await admin.query('create database cdc character set utf8mb4');
  await admin.query('use cdc');
  url = `${server.url}cdc`;
});

afterAll(async () => {
  await admin?.end().catch(() => {});
  await server?.stop();
});

/** A new table and a cdc sync of it. */
async function table(ddl = 'id bigint primary key, label varchar(100), n int', options: Record<string, unknown> = {}): Promise<{ sync: Sync; name: string }> {
  const name = `t${++n}`;
  await admin.query(`create table ${name} (${ddl})`);
  const config = validateSyncConfig({
    id: `cdc-src-${name}`,
    source: { connector: 'mysql', connection: { url }, table: name, options },
    destination: { connector: 'mysql', connection: { url }, table: `${name}_copy` },
    mode: 'cdc',
    keyColumns: ['id'],
    pollIntervalMs: 200,
  });
  return { sync: normalizeSync(config), name };
}

const open = (sync: Sync) => MysqlCdcSource.open(mysqlDialect, { sync, endpoint: sync.source, role: 'source' });
const offset = (p: Position) => p.value as MysqlCdcOffset;
const streaming = (p: Position) => p.kind === 'stream' && p.value !== null && offset(p).snapshot === undefined;
const START: Position = { kind: 'stream', value: null };

/** Applies a batch in order to rows by key, as a destination would. */
function apply(rows: Map<string, Row>, batch: Batch): void {
  const changes = [...(batch.changes ?? [])];
  const run = (upTo: number) => {
    while (changes.length > 0 && changes[0]!.at <= upTo) {
      const change = changes.shift()!;
      if (change.kind === 'delete') rows.delete(String(change.key.id));
      if (change.kind === 'truncate') rows.clear();
    }
  };
  batch.rows.forEach((row, i) => {
    run(i);
    const key = String(row.id);
    rows.set(key, { ...rows.get(key), ...row });
  });
  run(Infinity);
}

/** Reads and applies batches until `done` holds; the deletes they carried are added to `deletes`. */
async function follow(source: Source, from: Position, rows: Map<string, Row>, done: (position: Position) => boolean, deletes: Row[] = []): Promise<Position> {
  let position = from;
  await until(
    'the source to catch up',
    async () => {
      const batch = await source.read(position, 100, AbortSignal.timeout(30_000));
      for (const change of batch.changes ?? []) if (change.kind === 'delete') deletes.push(change.key);
      apply(rows, batch);
      position = batch.position;
      return done(position);
    },
    { timeoutMs: 60_000, intervalMs: 0 },
  );
  return position;
}

/** The table as the polling mysql source reads it, by key. */
async function tableRows(name: string): Promise<Map<string, Row>> {
  const pool = await mysqlDialect.connect({ url }, {});
  try {
    const { rows } = await pool.execute(CompiledQuery.raw(`select * from ${name}`));
    return new Map(rows.map((r) => [String(r.id), r]));
  } finally {
    await pool.close();
  }
}

describe('MariaDB binlog cdc source', () => {
  it('decodes every type as the polling source reads it: unsigned and big integers, DECIMAL, DATETIME(6), TIMESTAMP, TIME, JSON, BLOB, BINARY, BIT, ENUM, SET, NULL', async () => {
    const { sync, name } = await table(
      `id bigint unsigned primary key, d decimal(30,8), small decimal(5,2), dt datetime(6), dt0 datetime, ts timestamp(3) null, tm time(4), tneg time(1),
       j json, b blob, vb varbinary(10), bn binary(4), bits bit(10), flag bit(1), e enum('x','y'), st set('a','b','c'), u int unsigned, us smallint unsigned,
       ti tinyint, tb tinyint(1), f float, dbl double, y year, dd date, c char(5), lat varchar(300) character set latin1, txt text, n int`,
      { snapshot: 'never' },
    );
    const source = await open(sync);
    try {
      const rows = new Map<string, Row>();
      const start = await source.read(START, 100, AbortSignal.timeout(30_000));
      await admin.query(
        `insert into ${name} values
         (18446744073709551615, -12345678901234567890.12345678, 0.5, '2024-02-29 23:59:58.123456', '1999-12-31 23:59:59', '2024-01-02 03:04:05.678',
          '838:59:59.1234', '-01:02:03.5', '{"big": 12345678901234567890, "x": [1.50, "é"]}', x'00ff10', x'0102', x'01', b'1010101010', b'1', 'y', 'a,c',
          4294967295, 65535, -128, 1, 1.1, 2.5e-300, 2024, '2024-03-04', 'ab', 'éè', 'multi\nline ✓', -7),
         (1, 0, -0.01, '1000-01-01 00:00:00.000001', '2000-01-01 00:00:00', null, '-00:00:00.0001', '00:00:00', 'null', '', '', x'00000000', b'0', b'0', 'x', '',
          0, 0, 127, 0, -3.4e38, -0.0, 1901, '1000-01-01', '', '', '', null),
         (2, null, null, null, null, null, null, null, null, null, null, null, null, null, null, null, null, null, null, null, null, null, null, null, null, null, null, null)`,
      );
      await follow(source, start.position, rows, () => rows.size === 3);
      const polled = await tableRows(name);
      for (const [key, row] of polled) expect({ key, ...rows.get(key) }).toEqual({ key, ...row });
    } finally {
      await source.close();
    }
  });

  it('copies a consistent snapshot, then streams what changed after it: no gap, no overlap; key changes, deletes, truncates and added columns', async () => {
    const { sync, name } = await table();
    const values = Array.from({ length: 500 }, (_, i) => `(${i + 1}, 'v${i + 1}', 0)`).join(',');
    await admin.query(`insert into ${name} values ${values}`);
    const source = await open(sync);
    try {
      const rows = new Map<string, Row>();
      const first = await source.read(START, 100, AbortSignal.timeout(30_000));
      expect(first.rows).toHaveLength(100);
      expect(offset(first.position)).toMatchObject({ file: expect.stringMatching(/^binlog\.\d+$/), gtid: expect.stringMatching(/^0-1-\d+$/) });
      apply(rows, first);
      // Written after the snapshot: the copy must not see these, the stream must bring them.
      await admin.query(`insert into ${name} values (501, 'new', 1), (502, 'new', 1)`);
      await admin.query(`update ${name} set label = 'changed', n = 2 where id = 1`);
      await admin.query(`delete from ${name} where id = 2`);
      await admin.query(`update ${name} set id = 1000 where id = 3`);
      let position = first.position;
      let copied = first.rows.length;
      while (!streaming(position)) {
        const batch = await source.read(position, 100, AbortSignal.timeout(30_000));
        copied += batch.rows.length;
        apply(rows, batch);
        position = batch.position;
      }
      expect(copied).toBe(500);
      expect(rows.get('1')).toMatchObject({ label: 'v1' });
      expect(rows.has('501')).toBe(false);
      const deletes: Row[] = [];
      position = await follow(source, position, rows, () => rows.has('1000') && rows.size === 501, deletes);
      expect(rows.get('1')).toMatchObject({ label: 'changed', n: 2 });
      // The delete, and the old key of the key change; the update of other columns is no delete.
      expect(deletes).toEqual([{ id: '2' }, { id: '3' }]);
      expect(rows.has('2') || rows.has('3')).toBe(false);

      await admin.query(`truncate table ${name}`);
      await admin.query(`alter table ${name} add column extra decimal(10,2)`);
      await admin.query(`insert into ${name} (id, extra) values (5, 1.50)`);
      const later: Batch[] = [];
      await until('the truncate and the new column', async () => {
        const batch = await source.read(position, 100, AbortSignal.timeout(30_000));
        later.push(batch);
        position = batch.position;
        return later.some((b) => b.rows.some((r) => r.id === '5'));
      });
      expect(later.flatMap((b) => b.changes ?? []).map((c) => c.kind)).toEqual(['truncate']);
      // The runner compares columns between batches: the new one is there, typed.
      expect(later.at(-1)!.columns.find((c) => c.name === 'extra')).toEqual({ name: 'extra', type: 'decimal', precision: 10, scale: 2 });
      expect(later.flatMap((b) => b.rows)).toEqual([{ id: '5', label: null, n: null, extra: '1.50' }]);
    } finally {
      await source.close();
    }
  });

  it('copies in parallel key ranges, resumes the copy in a new source after a crash from the first snapshot position, and ends equal to the table', async () => {
    const { sync, name } = await table('id bigint primary key, label varchar(20), n int', { snapshotParallelism: 4 });
    await admin.query(`insert into ${name} values ${Array.from({ length: 2000 }, (_, i) => `(${i + 1}, 'v${i + 1}', 0)`).join(',')}`);
    await admin.query(`analyze table ${name}`);
    const rows = new Map<string, Row>();
    let source = await open(sync);
    let position: Position;
    try {
      const first = await source.read(START, 200, AbortSignal.timeout(30_000));
      expect(offset(first.position).snapshot?.parts).toHaveLength(4);
      apply(rows, first);
      position = first.position;
    } finally {
      // As if the agent died: nothing else is committed.
      await source.close();
    }
    await admin.query(`update ${name} set label = 'late', n = n + 1 where id % 7 = 0`);
    await admin.query(`delete from ${name} where id % 11 = 0`);
    await admin.query(`insert into ${name} values ${Array.from({ length: 100 }, (_, i) => `(${2001 + i}, 'after', 5)`).join(',')}`);
    source = await open(sync);
    try {
      const expected = await tableRows(name);
      await follow(source, position, rows, (p) => streaming(p) && rows.size === expected.size && rows.get('14')?.label === 'late');
      expect(rows).toEqual(expected);
    } finally {
      await source.close();
    }
  });

  it('reads the column names the log carries with binlog_row_metadata=FULL, across columns dropped and added while it lags', async () => {
    const { sync, name } = await table("id int unsigned primary key, gone varchar(10), e enum('a','b'), n bigint unsigned", { snapshot: 'never' });
    await admin.query("set global binlog_row_metadata = 'FULL'");
    const source = await open(sync);
    try {
      const start = await source.read(START, 100, AbortSignal.timeout(30_000));
      expect(start.warning).toBeUndefined();
      await admin.query(`insert into ${name} values (4294967295, 'x', 'b', 18446744073709551615)`);
      // Both changes made before the source reads a row: the first row's layout is known only from the log.
      await admin.query(`alter table ${name} drop column gone`);
      await admin.query(`alter table ${name} add column added varchar(10) default 'new'`);
      await admin.query(`insert into ${name} (id, e, n) values (2, 'a', 5)`);
      const rows: Row[] = [];
      let position = start.position;
      await until('both rows', async () => {
        const batch = await source.read(position, 100, AbortSignal.timeout(30_000));
        rows.push(...batch.rows);
        position = batch.position;
        return rows.length === 2;
      });
      expect(rows).toEqual([
        { id: 4294967295, gone: 'x', e: 'b', n: '18446744073709551615' },
        { id: 2, e: 'a', n: '5', added: 'new' },
      ]);
    } finally {
      await admin.query("set global binlog_row_metadata = 'NO_LOG'");
      await source.close();
    }
    // Without the names, the same lag is refused rather than guessed: the first row's types are not the table's now.
    const blind = await open(sync);
    try {
      const start = await blind.read(START, 100, AbortSignal.timeout(30_000));
      expect(start.warning).toMatch(/binlog_row_metadata is NO_LOG: .*set binlog_row_metadata = FULL/);
      await admin.query(`insert into ${name} (id, e, n, added) values (3, 'b', 6, 'x')`);
      await admin.query(`alter table ${name} drop column added`);
      await admin.query(`alter table ${name} add column other int`);
      const refused = await until<Error>('the refusal', () =>
        blind.read(start.position, 100, AbortSignal.timeout(30_000)).then(
          () => false,
          (err: unknown) => err as Error,
        ),
      );
      expect(refused.message).toMatch(/the table has id int, e enum, n bigint, other int now: .*set binlog_row_metadata = FULL/);
    } finally {
      await blind.close();
    }
  });

  it('keeps a transaction whole beyond batchSize, and splits one beyond maxTransactionRows with the offset before it', async () => {
    const { sync, name } = await table('id bigint primary key, label varchar(10)', { snapshot: 'never', maxTransactionRows: 300 });
    const source = await open(sync);
    const insert = (from: number, count: number) =>
      admin.query(`insert into ${name} values ${Array.from({ length: count }, (_, i) => `(${from + i}, 'a')`).join(',')}`);
    try {
      let position = (await source.read(START, 50, AbortSignal.timeout(30_000))).position;
      await insert(1, 200);
      const whole = await until('the transaction', async () => {
        const batch = await source.read(position, 50, AbortSignal.timeout(30_000));
        position = batch.position;
        return batch.rows.length > 0 && batch;
      });
      expect(whole.rows).toHaveLength(200);
      await insert(1001, 700);
      const pieces: Array<{ rows: number; moved: boolean }> = [];
      await until('the large transaction', async () => {
        const batch = await source.read(position, 250, AbortSignal.timeout(30_000));
        if (batch.rows.length > 0) pieces.push({ rows: batch.rows.length, moved: JSON.stringify(batch.position) !== JSON.stringify(position) });
        position = batch.position;
        return pieces.reduce((sum, b) => sum + b.rows, 0) >= 700;
      });
      // Pieces of at most batchSize rows; only the last one moves the offset past the transaction.
      expect(pieces).toEqual([
        { rows: 250, moved: false },
        { rows: 250, moved: false },
        { rows: 200, moved: true },
      ]);
    } finally {
      await source.close();
    }
  });

  it('resumes from the stored GTID position in a new source across a server restart, moves past other tables, and fails clearly on a position the server is behind or has purged', async () => {
    const { sync, name } = await table('id bigint primary key, label varchar(10)', { snapshot: 'never' });
    let source = await open(sync);
    let position: Position;
    try {
      position = (await source.read(START, 50, AbortSignal.timeout(30_000))).position;
      await admin.query(`insert into ${name} values (1, 'a')`);
      position = (await until('the insert', async () => {
        const b = await source.read(position, 50, AbortSignal.timeout(30_000));
        return b.rows.length > 0 && b;
      }))!.position;
      // Transactions of other tables move the position, with no rows.
      await admin.query('create table other (id int)');
      await admin.query('insert into other values (1)');
      const moved = await until('the position to move', async () => {
        const b = await source.read(position, 50, AbortSignal.timeout(30_000));
        expect(b.rows).toEqual([]);
        return offset(b.position).gtid !== offset(position).gtid && b;
      });
      expect(moved.changes ?? []).toEqual([]);
      position = moved.position;
    } finally {
      await source.close();
    }
    await server.kill('SIGKILL');
    await server.start();
    await admin.end();
    admin = await mysql.createConnection({ uri: url, charset: 'utf8mb4' });
    await admin.query(`insert into ${name} values (2, 'b')`);
    source = await open(sync);
    try {
      const next = await until('the second insert', async () => {
        const b = await source.read(position, 50, AbortSignal.timeout(30_000));
        position = b.position;
        return b.rows.length > 0 && b;
      });
      expect(next.rows).toEqual([{ id: '2', label: 'b' }]);
    } finally {
      await source.close();
    }
    // A position the server never wrote (it is behind the sync): refused, not waited for.
    const ahead = { kind: 'stream', value: { ...offset(position), gtid: '0-1-999999' } } as Position;
    source = await open(sync);
    try {
      await expect(source.read(ahead, 50, AbortSignal.timeout(30_000))).rejects.toThrow(
        /the server's binlog does not reach the stored GTID position '0-1-999999'/,
      );
    } finally {
      await source.close();
    }
    // Every binlog before the current one is purged: the stored position is gone.
    const stale = { kind: 'stream', value: { file: offset(position).file, pos: 4, gtid: '0-1-1' } } as Position;
    await admin.query('flush binary logs');
    const [[current]] = (await admin.query('show master status')) as unknown as [[{ File: string }]];
    await admin.query(`purge binary logs to '${current.File}'`);
    source = await open(sync);
    try {
      await expect(source.read(stale, 50, AbortSignal.timeout(30_000))).rejects.toThrow(
        /is no longer on the server .*position purged, a new snapshot is needed — reset the sync's offset/,
      );
    } finally {
      await source.close();
    }
  });

  it("ends a former owner's dump: a second reader of the same sync (server id) takes the stream over", async () => {
    const { sync, name } = await table('id bigint primary key', { snapshot: 'never' });
    const former = await open(sync);
    const owner = await open(sync);
    try {
      const start = (await former.read(START, 50, AbortSignal.timeout(30_000))).position;
      await former.read(start, 50, AbortSignal.timeout(30_000));
      // The new owner starts its dump as the same replica: the server ends the former one's.
      await owner.read(start, 50, AbortSignal.timeout(30_000));
      await admin.query(`insert into ${name} values (1)`);
      const ended = await until<Error>('the former dump to end', () =>
        former.read(start, 50, AbortSignal.timeout(30_000)).then(
          () => false,
          (err: unknown) => err as Error,
        ),
      );
      expect(ended.message).toMatch(/another binlog reader with server id \d+ took the dump over/);
      const taken = await until('the insert', async () => {
        const b = await owner.read(start, 50, AbortSignal.timeout(30_000));
        return b.rows.length > 0 && b;
      });
      expect(taken.rows).toEqual([{ id: '1' }]);
    } finally {
      await former.close();
      await owner.close();
    }
  });

  it('names each missing setting and privilege with what to change', async () => {
    await admin.query("create user if not exists 'plain'@'%' identified by 'pw'");
    await admin.query("grant select on cdc.* to 'plain'@'%'");
    const pool = await mysqlDialect.connect({ url: url.replace('root@', 'plain:pw@') }, {});
    try {
      const problems = await changeLogProblems(async <R>(text: string) => (await pool.execute(CompiledQuery.raw(text))).rows as R[]);
      expect(problems).toEqual([
        { need: 'replication', message: "the user cannot read the binlog: GRANT REPLICATION SLAVE, BINLOG MONITOR ON *.* TO 'plain'@'%'" },
      ]);
      await admin.query("grant replication slave, binlog monitor on *.* to 'plain'@'%'");
      await admin.query("set global binlog_format = 'MIXED'");
      await admin.query("set global binlog_row_image = 'MINIMAL'");
      const settings = await changeLogProblems(async <R>(text: string) => (await pool.execute(CompiledQuery.raw(text))).rows as R[]);
      expect(settings.map((p) => p.need)).toEqual(['binlog_format', 'binlog_row_image']);
      expect(settings[0]!.message).toMatch(/set binlog_format = ROW in my\.cnf/);
    } finally {
      await admin.query("set global binlog_format = 'ROW'");
      await admin.query("set global binlog_row_image = 'FULL'");
      await pool.close();
    }
  });
});
