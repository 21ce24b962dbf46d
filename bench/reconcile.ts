import pg from 'pg';
import { createDatabase } from '@idra/testkit';
import { normalizeSync, reconcileKeys, validateSyncConfig, type Change } from '@idra/core';
import { createConnectorRegistry } from '@idra/connectors';

export interface ReconcileResult {
  keys: number;
  deleted: number;
  seconds: number;
  secondsPerMillionKeys: number;
}

/** Key reconciliation PG → PG: `keys` rows at both ends, 0.1 % of them deleted at the source, one comparison timed. */
export async function benchReconcile(pgUrl: string, keys = 1_000_000): Promise<ReconcileResult> {
  const source = await createDatabase('postgres', pgUrl);
  const dest = await createDatabase('postgres', pgUrl);
  const connectors = createConnectorRegistry();
  try {
    for (const url of [source.url, dest.url]) {
      const c = new pg.Client(url);
      await c.connect();
      await c.query('create table t (id bigint primary key, body text not null)');
      await c.query('insert into t select g, md5(g::text) from generate_series(1, $1) g', [keys]);
      if (url === source.url) await c.query('delete from t where id % 1000 = 7');
      await c.query('analyze t');
      await c.end();
    }
    const sync = normalizeSync(
      validateSyncConfig({
        id: 'bench-reconcile',
        source: { connector: 'postgres', connection: { url: source.url }, table: 't' },
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
      const signal = new AbortController().signal;
      const started = performance.now();
      const report = await reconcileKeys(
        from.keyLister!(),
        to.keyLister!(),
        {
          kind: 'reconcile',
          keyColumns: ['id'],
          maxDeleteFraction: 0.5,
          deleteKeys: async (rows) => {
            const changes: Change[] = rows.map((key) => ({ kind: 'delete', at: 0, key }));
            await to.write({ columns: [], rows: [], changes, position: { kind: 'id', value: null } }, signal);
            return rows.length;
          },
        },
        signal,
      );
      const seconds = (performance.now() - started) / 1000;
      return { keys, deleted: report.deleted, seconds, secondsPerMillionKeys: seconds / (keys / 1_000_000) };
    } finally {
      await Promise.all([from.close(), to.close()]);
    }
  } finally {
    await Promise.all([source.drop(), dest.drop()]);
  }
}
