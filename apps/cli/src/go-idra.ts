import type { GoIdraSnapshot } from '@idra/core';
import { IdraApiError, type GoMigrationResult, type GoSyncReport, type IdraClient, type ImportResult } from '@idra/api-client';
import { UsageError } from './exit-codes.ts';

/** The per-sync, per-field report of a Go Idra import, as text: nothing is left out. */
export function reportText(report: GoSyncReport[]): string {
  const width = Math.min(48, Math.max(10, ...report.flatMap((r) => r.fields.map((f) => f.field.length))));
  const out: string[] = [];
  for (const r of report) {
    const go = r.goId ? `'${r.goId}'` : `[${r.index}]`;
    out.push(`Go sync ${go}${r.name ? ` (${r.name})` : ''} → ${r.id ? `Idra sync ${r.id}` : 'no Idra id'}: ${r.outcome.toUpperCase()}`);
    for (const f of r.fields) out.push(`  ${f.outcome.padEnd(9)}  ${f.field.padEnd(width)}  ${f.detail}`);
    if (r.offset)
      out.push(
        `  ${'offset'.padEnd(9)}  ${(r.offset.goKey ? `${r.offset.goKey} = ${r.offset.goValue}` : '-').padEnd(width)}  ${r.offset.outcome}: ${r.offset.detail}`,
      );
    out.push('');
  }
  const count = (o: GoSyncReport['outcome']) => report.filter((r) => r.outcome === o).length;
  out.push(`${report.length} Go syncs: ${count('importable')} importable, ${count('refused')} refused`);
  return `${out.join('\n')}\n`;
}

/** One line on what an import did (or, dry, would do). */
export function importSummary(r: ImportResult | GoMigrationResult): string {
  const verb = r.dryRun ? 'would import' : 'imported';
  const list = (ids: string[]) => ids.join(', ') || '-';
  const offsets = 'offsetsSet' in r ? r.offsetsSet : r.offsetsSeeded;
  const parts = [`syncs created ${list(r.syncs.created)}, updated ${list(r.syncs.updated)}`];
  if ('dataSources' in r && r.format === 'idra') parts.push(`data sources created ${list(r.dataSources.created)}, updated ${list(r.dataSources.updated)}`);
  if (offsets.length > 0) parts.push(`offsets stored for ${list(offsets)}`);
  if (r.refused?.length) parts.push(`refused ${list(r.refused)}${r.dryRun ? '' : ' (left out)'}`);
  return `${verb}${'format' in r ? ` (${r.format})` : ''}: ${parts.join('; ')}${r.dryRun ? ' — dry run, nothing written' : ''}\n`;
}

/** The order that loses and doubles nothing: printed before (and by) every migration. */
export function migrationPlan(snapshot: GoIdraSnapshot, r: GoMigrationResult | undefined, paused: boolean): string {
  const live = snapshot.agents.length + snapshot.locks.length > 0;
  const kafka = r?.report.filter((s) => s.offset?.outcome === 'ignored' && /consumer group/.test(s.offset.detail)).map((s) => s.id) ?? [];
  const steps = [
    live
      ? `Stop every Go Idra agent (cdc_agent) first. Still live: ${snapshot.agents.length} agent(s) (${snapshot.agents.slice(0, 5).join(', ') || '-'}), locks on ${snapshot.locks.length} sync(s) (${snapshot.locks.slice(0, 5).join(', ') || '-'}). Their keys vanish with their leases (up to 30 s after a kill -9).`
      : 'Go Idra agents: none live (no agents/ keys, no /distributed-locks/): its offsets no longer move.',
    "Run idra migrate (without --dry-run) once they are stopped: it reads the offsets Go committed after its last batch, stores each before its sync, and never writes to Go Idra's etcd.",
    paused
      ? 'The syncs are imported paused (--paused): check them (idra syncs get <id>, idra offsets get <id>), then idra syncs resume <id>.'
      : 'The imported syncs start in Idra at once, each from its migrated offset (those Go disabled stay paused).',
    ...(kafka.length > 0
      ? [
          `Kafka syncs ${kafka.join(', ')}: their positions are in Kafka's consumer group, not in etcd — import with --paused, set each with idra offsets set <id> --position …, then resume.`,
        ]
      : []),
    'Do not start Go Idra again on these syncs: both would copy the same rows.',
  ];
  return `Order of the migration:\n${steps.map((s, i) => `  ${i + 1}. ${s}`).join('\n')}\n`;
}

export interface MigrateFlags {
  goEtcd: string | undefined;
  goEtcdUser: string | undefined;
  timeZone: string | undefined;
  dryRun: boolean;
  paused: boolean;
  overwrite: boolean;
  skipRefused: boolean;
}

/**
 * `idra migrate`: reads a Go Idra etcd (read-only) and has the API convert and report, and — unless
 * dry, or Go agents are still live (`blocked`) — import the syncs with their offsets.
 */
export async function migrate(
  api: IdraClient,
  flags: MigrateFlags,
  env: NodeJS.ProcessEnv,
  warn: (text: string) => void,
): Promise<{ snapshot: GoIdraSnapshot; result: GoMigrationResult; blocked: boolean }> {
  const endpoints = (flags.goEtcd ?? env.IDRA_GO_ETCD ?? '')
    .split(',')
    .map((e) => e.trim())
    .filter(Boolean);
  if (endpoints.length === 0) throw new UsageError('--go-etcd <url>[,<url>] is required: the etcd of the Go Idra to migrate from (or set IDRA_GO_ETCD)');
  for (const e of endpoints)
    if (!/^https?:\/\/[^/\s]+\/?$/.test(e)) throw new UsageError(`--go-etcd: '${e}' is not an etcd client URL such as http://10.0.0.5:2379`);
  const username = flags.goEtcdUser ?? env.IDRA_GO_ETCD_USERNAME;
  let snapshot: GoIdraSnapshot;
  try {
    // Loaded here only: core (and its etcd client) takes seconds to load.
    const { readGoIdraStore } = await import('@idra/core');
    const tls = { ca: env.IDRA_GO_ETCD_CA, cert: env.IDRA_GO_ETCD_CERT, key: env.IDRA_GO_ETCD_KEY };
    snapshot = await readGoIdraStore({ endpoints, username, password: env.IDRA_GO_ETCD_PASSWORD, tls, dialTimeoutMs: 5000 });
  } catch (err) {
    throw new IdraApiError(0, { code: 'IDRA_ERR_CLI_GO_ETCD', message: `cannot read Go Idra's etcd at ${endpoints.join(', ')}: ${(err as Error).message}` });
  }
  for (const bad of snapshot.syncs.filter((s) => s.error)) warn(`idra: warning: /syncs/${bad.key} is ${bad.error}: skipped\n`);
  // While Go agents run, their offsets still move: only a dry run makes sense.
  const blocked = !flags.dryRun && snapshot.agents.length + snapshot.locks.length > 0;
  const result = await api.migrateGoIdra({
    syncs: snapshot.syncs.filter((s) => !s.error).map((s) => s.doc),
    offsets: snapshot.offsets,
    ...(flags.timeZone ? { timeZone: flags.timeZone } : {}),
    dryRun: flags.dryRun || blocked,
    overwrite: flags.overwrite,
    skipRefused: flags.skipRefused,
    paused: flags.paused,
  });
  return { snapshot, result, blocked };
}

/** The error `idra migrate` ends with while Go Idra still runs (exit code 5, conflict). */
export function goIdraRunning(snapshot: GoIdraSnapshot): IdraApiError {
  return new IdraApiError(409, {
    code: 'IDRA_ERR_CLI_GO_IDRA_RUNNING',
    message: `Go Idra is still running (${snapshot.agents.length} live agent(s), locks on ${snapshot.locks.length} sync(s)): nothing was imported; stop its agents and run idra migrate again`,
  });
}
