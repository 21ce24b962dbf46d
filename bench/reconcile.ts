import pg from 'pg';
import { createDatabase } from '@idra/testkit';
import { normalizeSync, reconcileKeys, validateSyncConfig, type KeyLister } from '@idra/core';
import { createConnectorRegistry } from '@idra/connectors';

/** What the source lost against the destination, 0.1 % of the keys each but the first. */
const SCENARIOS = {
  equal: 'false',
  'spread 0.1 %': 'id % 1000 = 7',
  'one range 0.1 %': 'id between 500001 and 501000',
} as const;

export interface ReconcileRun {
  scenario: keyof typeof SCENARIOS;
  /** `digests`: chunks compared by digest, listed where they differ; `lists`: every key listed at both ends. */
  method: 'digests' | 'lists';
  /** Keys found gone from the source (counted, not deleted: every run compares the same tables). */
  gone: number;
  /** Keys that left the databases as lists. */
  listed: number;
  seconds: number;
  secondsPerMillionKeys: number;
}

export interface ReconcileResult {
  keys: number;
  runs: ReconcileRun[];
}

/**
 * Key reconciliation PG → PG: `keys` rows in the destination, the source the same but for each scenario's 0.1 %, each
 * scenario compared by chunk digests and by key lists, in the same run (figures on a busy machine compare only there).
 */
export async function benchReconcile(pgUrl: string, keys = 1_000_000): Promise<ReconcileResult> {
  const source = await createDatabase('postgres', pgUrl);
  const dest = await createDatabase('postgres', pgUrl);
  const connectors = createConnectorRegistry();
  try {
    for (const [url, tables] of [
      [source.url, Object.keys(SCENARIOS).map((_, i) => `t${i}`)],
      [dest.url, ['t']],
    ] as const) {
      const c = new pg.Client(url);
      await c.connect();
      for (const [i, table] of tables.entries()) {
        await c.query(`create table ${table} (id bigint primary key, body text not null)`);
        await c.query(`insert into ${table} select g, md5(g::text) from generate_series(1, $1) g`, [keys]);
        if (url === source.url) await c.query(`delete from ${table} where ${Object.values(SCENARIOS)[i]}`);
        await c.query(`analyze ${table}`);
      }
      await c.end();
    }
    const runs: ReconcileRun[] = [];
    for (const [i, scenario] of (Object.keys(SCENARIOS) as Array<keyof typeof SCENARIOS>).entries()) {
      const sync = normalizeSync(
        validateSyncConfig({
          id: 'bench-reconcile',
          source: { connector: 'postgres', connection: { url: source.url }, table: `t${i}` },
          destination: { connector: 'postgres', connection: { url: dest.url }, table: 't' },
          mode: 'id',
          cursorColumn: 'id',
          keyColumns: ['id'],
          reconcileEvery: '1h',
        }),
      );
      const from = await connectors.openSource({ sync, endpoint: sync.source, role: 'source' });
      const to = await connectors.openDestination({ sync, endpoint: sync.destination, role: 'destination' });
      try {
        for (const method of ['digests', 'lists'] as const) {
          let listed = 0;
          // Lists: the lister without its digests, as for databases that have none.
          const measured = (l: KeyLister): KeyLister => ({
            ...(method === 'digests' ? l : {}),
            existing: l.existing,
            count: l.count,
            keys: async (...args) => {
              const found = await l.keys(...args);
              listed += found.length;
              return found;
            },
          });
          const signal = new AbortController().signal;
          const started = performance.now();
          const report = await reconcileKeys(
            measured(from.keyLister!()),
            measured(to.keyLister!()),
            { kind: 'reconcile', keyColumns: ['id'], maxDeleteFraction: 0.5, deleteKeys: async (rows) => rows.length },
            signal,
          );
          const seconds = (performance.now() - started) / 1000;
          runs.push({ scenario, method, gone: report.deleted, listed, seconds, secondsPerMillionKeys: seconds / (keys / 1_000_000) });
        }
      } finally {
        await Promise.all([from.close(), to.close()]);
      }
    }
    return { keys, runs };
  } finally {
    await Promise.all([source.drop(), dest.drop()]);
  }
}
