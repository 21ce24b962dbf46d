import type pg from 'pg';

/** `"name"`: an identifier quoted as PostgreSQL reads it (pg itself is loaded only with a connection). */
const quoteIdent = (name: string) => `"${name.replace(/"/g, '""')}"`;

/** Runs one statement on the source. */
type Query = <R extends pg.QueryResultRow>(text: string, values?: unknown[]) => Promise<R[]>;

/**
 * What stops a `cdc` sync from reading this server's change log, each with what to change; empty
 * when nothing does. Checked by "Test connection" and again when a sync starts.
 */
export async function changeLogProblems(query: Query): Promise<Array<{ need: 'wal_level' | 'replication' | 'slots' | 'senders'; message: string }>> {
  const [s] = await query<{ wal_level: string; replication: boolean; user: string; slots: number; used: number; senders: number }>(
    `select current_setting('wal_level') as wal_level,
       (select rolreplication or rolsuper from pg_roles where rolname = current_user) as replication,
       current_user as user,
       current_setting('max_replication_slots')::int as slots,
       (select count(*) from pg_replication_slots)::int as used,
       current_setting('max_wal_senders')::int as senders`,
  );
  const problems: Array<{ need: 'wal_level' | 'replication' | 'slots' | 'senders'; message: string }> = [];
  if (s!.wal_level !== 'logical')
    problems.push({
      need: 'wal_level',
      message: `the server has wal_level = ${s!.wal_level}: set wal_level = logical in postgresql.conf and restart the server`,
    });
  if (!s!.replication) problems.push({ need: 'replication', message: `the user cannot read the change log: ALTER ROLE ${quoteIdent(s!.user)} REPLICATION` });
  if (s!.used >= s!.slots)
    problems.push({
      need: 'slots',
      message: `all ${s!.slots} replication slots are in use: raise max_replication_slots (each cdc sync takes one) or drop unused slots`,
    });
  if (s!.senders < 1) problems.push({ need: 'senders', message: 'max_wal_senders is 0: raise it (each running cdc sync holds one walsender)' });
  return problems;
}

/** Idra's replication slots on the server (`idra_` names), with the WAL each keeps. */
export async function changeLogSlots(query: Query): Promise<Array<{ name: string; active: boolean; lagBytes: number }>> {
  const rows = await query<{ name: string; active: boolean; lag: string | null }>(
    `select slot_name as name, active, pg_wal_lsn_diff(pg_current_wal_lsn(), coalesce(confirmed_flush_lsn, restart_lsn))::text as lag
     from pg_replication_slots where slot_name like 'idra\_%' order by slot_name`,
  );
  return rows.map((r) => ({ name: r.name, active: r.active, lagBytes: Number(r.lag ?? 0) }));
}
