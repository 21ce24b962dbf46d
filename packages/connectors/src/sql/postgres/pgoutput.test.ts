import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { inject } from 'vitest';
import pg from 'pg';
import { createDatabase, until, type TestDatabase } from '@idra/testkit';
import { decodePgoutput, decodeReplication, formatLsn, parseLsn, standbyStatus, UNCHANGED, type PgoutputMessage } from './pgoutput.ts';

// The decoder is checked against what a real server writes: the bytes of pgoutput read from a slot
// with pg_logical_slot_get_binary_changes, the same messages a walsender streams.

let db: TestDatabase;
let client: pg.Client;

beforeAll(async () => {
  db = await createDatabase('postgres', inject('pgUrl'));
  client = new pg.Client(db.url);
  await client.connect();
  await client.query(`create table items (id bigint primary key, label text, price numeric(12,2), doc text, at timestamptz);
    alter table items alter column doc set storage external;
    create publication pgoutput_test for table items`);
  await client.query("select pg_create_logical_replication_slot('pgoutput_test', 'pgoutput')");
});

afterAll(async () => {
  await client?.query("select pg_drop_replication_slot('pgoutput_test')").catch(() => {});
  await client?.end();
  await db?.drop();
});

/** The messages of the next `commits` transactions: the server decodes only WAL it has flushed, which synchronous_commit=off delays. */
async function changes(commits: number): Promise<PgoutputMessage[]> {
  const got: PgoutputMessage[] = [];
  await until(`${commits} transaction(s) in the slot`, async () => {
    const { rows } = await client.query<{ data: Buffer }>(
      "select data from pg_logical_slot_get_binary_changes('pgoutput_test', null, null, 'proto_version', '1', 'publication_names', 'pgoutput_test')",
    );
    got.push(...rows.map((r) => decodePgoutput(r.data)));
    return got.filter((m) => m.tag === 'commit').length >= commits;
  });
  return got;
}

describe('pgoutput', () => {
  it('decodes a transaction: begin, the relation, insert, update, delete, commit', async () => {
    await client.query('begin');
    await client.query("insert into items values (9007199254740993, 'one', 12.50, 'd', '2024-01-02 03:04:05.123456+00')");
    await client.query("update items set label = 'uno' where id = 9007199254740993");
    await client.query('update items set id = 2 where id = 9007199254740993');
    await client.query('delete from items where id = 2');
    await client.query('commit');
    const got = await changes(1);
    expect(got.map((m) => m.tag)).toEqual(['begin', 'relation', 'insert', 'update', 'update', 'delete', 'commit']);
    const [begin, relation, insert, update, keyUpdate, del, commit] = got;
    expect(relation).toMatchObject({ schema: 'public', name: 'items', replicaIdentity: 'd' });
    expect(relation?.tag === 'relation' && relation.columns.map((c) => [c.name, c.typeOid, c.key])).toEqual([
      ['id', 20, true],
      ['label', 25, false],
      ['price', 1700, false],
      ['doc', 25, false],
      ['at', 1184, false],
    ]);
    // numeric(12,2): ((12 << 16) | 2) + 4
    expect(relation?.tag === 'relation' && relation.columns[2]!.typeMod).toBe(((12 << 16) | 2) + 4);
    expect(insert).toEqual({ tag: 'insert', relationId: expect.any(Number), row: ['9007199254740993', 'one', '12.50', 'd', '2024-01-02 03:04:05.123456+00'] });
    // Default replica identity: an update that keeps the key sends no old tuple.
    expect(update).toMatchObject({ tag: 'update', old: undefined, row: ['9007199254740993', 'uno', '12.50', 'd', '2024-01-02 03:04:05.123456+00'] });
    // One that changes it sends the old key, the other columns null.
    expect(keyUpdate).toMatchObject({
      tag: 'update',
      oldIsKey: true,
      old: ['9007199254740993', null, null, null, null],
      row: ['2', 'uno', '12.50', 'd', expect.any(String)],
    });
    expect(del).toMatchObject({ tag: 'delete', oldIsKey: true, old: ['2', null, null, null, null] });
    expect(begin?.tag === 'begin' && commit?.tag === 'commit' && begin.finalLsn === commit.commitLsn).toBe(true);
    expect(commit?.tag === 'commit' && commit.endLsn > commit.commitLsn).toBe(true);
    expect(commit?.tag === 'commit' && Math.abs(commit.commitTimeMs - Date.now())).toBeLessThan(60_000);
  });

  it('marks a TOASTed value an update left unchanged, and sends the whole old row under REPLICA IDENTITY FULL', async () => {
    const big = 'x'.repeat(100_000);
    await client.query('insert into items (id, label, doc) values (3, $1, $2)', ['three', big]);
    await client.query("update items set label = 'drei' where id = 3");
    await client.query('alter table items replica identity full');
    await client.query('delete from items where id = 3');
    await client.query('alter table items replica identity default');
    const got = (await changes(3)).filter((m) => m.tag === 'insert' || m.tag === 'update' || m.tag === 'delete');
    // Compared as booleans: a failure must not print 100 kB.
    expect(got[0]?.tag === 'insert' && got[0].row[3] === big).toBe(true);
    expect(got[1]?.tag === 'update' && got[1].row[3]).toBe(UNCHANGED);
    expect(got[2]?.tag === 'delete' && got[2].old[3] === big).toBe(true);
    expect(got[2]?.tag === 'delete' && [got[2].oldIsKey, ...got[2].old.slice(0, 3)]).toEqual([false, '3', 'drei', null]);
  });

  it('decodes a truncate and the new relation after a column is added', async () => {
    await client.query('truncate items');
    await client.query('alter table items add column extra int');
    await client.query('insert into items (id, extra) values (4, 44)');
    const got = await changes(2);
    expect(got.find((m) => m.tag === 'truncate')).toMatchObject({ cascade: false, restartIdentity: false, relationIds: [expect.any(Number)] });
    const relation = got.filter((m) => m.tag === 'relation').at(-1);
    expect(relation?.tag === 'relation' && relation.columns.map((c) => c.name)).toEqual(['id', 'label', 'price', 'doc', 'at', 'extra']);
    expect(got.find((m) => m.tag === 'insert')).toMatchObject({ row: ['4', null, null, null, null, '44'] });
  });
});

describe('the replication stream', () => {
  it('reads LSNs as PostgreSQL writes them, and back', () => {
    expect(parseLsn('16/B374D848')).toBe(0x16b374d848n);
    expect(formatLsn(0x16b374d848n)).toBe('16/B374D848');
    expect(formatLsn(parseLsn('0/0'))).toBe('0/0');
    expect(() => parseLsn('16-B3')).toThrow('not a log sequence number: "16-B3"');
  });

  it('decodes keepalives and XLogData, and encodes the standby status update', () => {
    const keepalive = Buffer.alloc(18);
    keepalive.write('k');
    keepalive.writeBigUInt64BE(0x1234n, 1);
    keepalive.writeUInt8(1, 17);
    expect(decodeReplication(keepalive)).toEqual({ tag: 'keepalive', walEnd: 0x1234n, replyNow: true });
    const xlog = Buffer.concat([Buffer.from('w'), Buffer.alloc(24), Buffer.from('B')]);
    xlog.writeBigUInt64BE(7n, 1);
    xlog.writeBigUInt64BE(9n, 9);
    expect(decodeReplication(xlog)).toEqual({ tag: 'xlog', start: 7n, walEnd: 9n, message: Buffer.from('B') });
    const status = standbyStatus(0x20n, 0x10n);
    expect([status.toString('latin1', 0, 1), status.readBigUInt64BE(1), status.readBigUInt64BE(9), status.readBigUInt64BE(17), status.length]).toEqual([
      'r',
      0x20n,
      0x10n,
      0x10n,
      34,
    ]);
  });
});
