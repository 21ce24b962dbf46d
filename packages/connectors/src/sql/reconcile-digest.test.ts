import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { reconcileKeys, type Change, type KeyLister } from '@idra/core';
import { createConnectorRegistry } from '../registry.ts';
import { DDL, TEST_DIALECTS, createTestDb, makeSync, type TestDb, type TestDialect } from '../testing/fixtures.ts';

const KEYS = 25_000;
const signal = new AbortController().signal;

/** Fills `table` with ids 1..n, the way each database does it fastest. */
const FILL: Record<TestDialect, (table: string, n: number) => string> = {
  postgres: (table, n) => `insert into ${table} select i, 'k' || i from generate_series(1, ${n}) i`,
  mysql: (table, n) => `insert into ${table} select seq, concat('k', seq) from seq_1_to_${n}`,
  sqlite: (table, n) => `with recursive s(i) as (select 1 union all select i + 1 from s where i < ${n}) insert into ${table} select i, 'k' || i from s`,
};

let dbs: Record<TestDialect, TestDb>;

beforeAll(async () => {
  const opened = await Promise.all(TEST_DIALECTS.map((d) => createTestDb(d)));
  dbs = Object.fromEntries(TEST_DIALECTS.map((d, i) => [d, opened[i]!])) as Record<TestDialect, TestDb>;
  await Promise.all(
    TEST_DIALECTS.map(async (d) => {
      const db = dbs[d];
      for (const table of ['src', 'texts']) {
        const key = table === 'texts' ? DDL[d].shortText : DDL[d].bigint;
        await db.exec(`create table ${table} (id ${key} primary key, name ${DDL[d].text})`);
      }
      await db.exec(FILL[d]('src', KEYS));
      await db.exec(FILL[d]('texts', 100));
      // Clustered differences: three keys gone from the source (and one the destination lacks, in each test's copy).
      await db.exec('delete from src where id in (12345, 12346, 20000)');
    }),
  );
}, 120_000);

afterAll(async () => {
  await Promise.all(Object.values(dbs ?? {}).map((db) => db.drop()));
});

/** The key listers of a sync from `from`'s table to `to`'s, and how many keys their listings returned. */
async function listers(from: TestDb, to: TestDb, table = { source: 'src', destination: 'dst' }) {
  const sync = makeSync(from, to, { keyColumns: ['id'], reconcileEvery: '1h', sourceTable: table.source, destinationTable: table.destination });
  const connectors = createConnectorRegistry();
  const source = await connectors.openSource({ sync, endpoint: sync.source, role: 'source' });
  const destination = await connectors.openDestination({ sync, endpoint: sync.destination, role: 'destination' });
  let listed = 0;
  const counted = (lister: KeyLister): KeyLister => ({
    ...lister,
    keys: async (...args) => {
      const keys = await lister.keys(...args);
      listed += keys.length;
      return keys;
    },
  });
  return {
    source: counted(source.keyLister!()),
    destination: counted(destination.keyLister!()),
    listed: () => listed,
    deleteKeys: async (keys: Array<Record<string, unknown>>) => {
      const changes: Change[] = keys.map((key) => ({ kind: 'delete', at: 0, key }));
      await destination.write({ columns: [], rows: [], changes, position: { kind: 'id', value: null } }, signal);
      return keys.length;
    },
    close: () => Promise.all([source.close(), destination.close()]),
  };
}

describe('key reconciliation by chunk digests', () => {
  it('PostgreSQL, MariaDB and SQLite compute the same digest of the same integer keys (any range); text keys digest only within a dialect', async () => {
    const seen = await Promise.all(
      TEST_DIALECTS.map(async (d) => {
        const l = await listers(dbs[d], dbs[d]);
        try {
          const source = l.source;
          return {
            form: (await source.digestForms!(signal)).at(-1),
            all: await source.digest!(null, null, 'md5-60-sum:int', signal),
            range: await source.digest!(['100'], ['4000'], 'md5-60-sum:int', signal),
            tenth: await source.keyAt!(['100'], 10, null, signal),
            beyond: await source.keyAt!(['24990'], 50, null, signal),
          };
        } finally {
          await l.close();
        }
      }),
    );
    expect(seen[0]!.form).toBe('md5-60-sum:int');
    expect(seen[0]!.all.count).toBe(KEYS - 3);
    expect(seen[0]!.range.count).toBe(3900);
    expect(seen[0]!.all.digest).toMatch(/^\d+$/);
    expect(seen[0]!.range.digest).not.toBe(seen[0]!.all.digest);
    expect(seen[0]).toMatchObject({ tenth: ['110'], beyond: null });
    for (const other of seen.slice(1)) expect(other).toEqual(seen[0]);

    const texts = await Promise.all(
      TEST_DIALECTS.map(async (d) => {
        const l = await listers(dbs[d], dbs[d], { source: 'texts', destination: 'texts' });
        try {
          return (await l.source.digestForms!(signal)).at(-1);
        } finally {
          await l.close();
        }
      }),
    );
    expect(new Set(texts).size).toBe(TEST_DIALECTS.length);
  });

  it.each([
    ['postgres', 'postgres'],
    ['mysql', 'mysql'],
    ['sqlite', 'sqlite'],
    ['postgres', 'sqlite'],
  ] as const)('%s → %s: only the chunks that differ are listed; the keys gone are deleted, the one missing is counted', async (from, to) => {
    const dst = `dst_${from}`;
    // Each pair deletes from its own copy of the destination.
    await dbs[to].exec(`create table ${dst} (id ${DDL[to].bigint} primary key, name ${DDL[to].text})`);
    await dbs[to].exec(FILL[to](dst, KEYS));
    await dbs[to].exec(`delete from ${dst} where id = 5`);
    const l = await listers(dbs[from], dbs[to], { source: 'src', destination: dst });
    try {
      const report = await reconcileKeys(
        l.source,
        l.destination,
        { kind: 'reconcile', keyColumns: ['id'], maxDeleteFraction: 0.5, deleteKeys: l.deleteKeys },
        signal,
      );
      expect(report).toMatchObject({ sourceKeys: KEYS - 3, destinationKeys: KEYS - 1, deleted: 3, missing: 1 });
      // Listing every key of both tables would be 50,000 keys; the three chunks of 1,000 that differ at each end are about 6,000.
      expect(l.listed()).toBeLessThan(8_000);
    } finally {
      await l.close();
    }
    expect(await dbs[to].exec(`select id from ${dst} where id in (12345, 12346, 20000)`)).toEqual([]);
    expect(await dbs[to].count(dst)).toBe(KEYS - 4);
  });
});
