import type { SyncActivity, SyncOverview } from '@idra/api-client';
import { compareHealth, copyProgress, lagSummary } from '@idra/core/health';

type Cell = string | number | boolean | null | undefined;

/** `syncs list` rows: problems first, cumulative rows (they never drop after a restart or handoff), one lag unit. */
export function syncRows(rows: SyncOverview[]): Cell[][] {
  return [...rows]
    .sort((a, b) => compareHealth(a.health.health, b.health.health) || a.id.localeCompare(b.id))
    .map((o) => [
      o.id,
      o.health.health + (o.health.attempts ? ` (${o.health.attempts} attempts)` : ''),
      o.runningOn ?? o.assignment?.agentId,
      o.status?.totals?.rowsCopied ?? o.status?.rowsCopied,
      o.status?.lag ? lagSummary(o.status.lag).text : undefined,
      o.deadLetters,
      (o.health.health === 'healthy' && o.status?.state !== 'waiting') || o.health.health === 'paused' ? undefined : o.health.reason.slice(0, 70),
    ]);
}

const BARS = ' ▁▂▃▄▅▆▇█';

/** A one-line chart of per-minute values (missing minutes are 0). */
function spark(values: number[]): string {
  const max = Math.max(...values, 0);
  return values.map((v) => (max === 0 ? BARS[0] : BARS[Math.round((v / max) * (BARS.length - 1))])).join('');
}

/** `syncs status <id>`: the health, why, totals, progress, lag and the last hour, as the web UI shows them. */
export function describeSyncStatus(o: SyncOverview, history: SyncActivity): string {
  const s = o.status;
  const h = o.health;
  const lines = [`${o.id}: ${h.health} — ${h.reason}`];
  if (h.attempts)
    lines.push(
      `  failing since ${h.failingSince}, ${h.attempts} attempt(s)${h.nextRetryAt ? `, next at ${h.nextRetryAt}` : ', waiting for a fix and Retry now (idra syncs retry)'}`,
    );
  if (s?.lastError?.row) lines.push(`  rejected row: ${JSON.stringify(s.lastError.row)}${s.lastError.column ? `, column ${s.lastError.column}` : ''}`);
  lines.push(`  agent: ${o.runningOn ?? o.assignment?.agentId ?? 'none'}`);
  if (s) {
    const t = s.totals;
    lines.push(
      `  rows copied: ${t?.rowsCopied ?? s.rowsCopied} in total${t ? ` since ${t.since}` : ''}; ${s.rowsCopied} since this run started${s.startedAt ? ` (${s.startedAt})` : ''}`,
    );
    lines.push(`  rows set aside: ${t?.rowsSkipped ?? s.rowsSkipped}; dead letters kept: ${o.deadLetters}`);
    const deleted = t?.rowsDeleted ?? s.rowsDeleted;
    if (deleted) lines.push(`  rows deleted: ${deleted}`);
    const r = s.reconciliation;
    if (r) {
      const found = `${r.sourceKeys} source / ${r.destinationKeys} destination keys, ${r.deleted} deleted, ${r.missing} missing from the destination, ${r.durationMs} ms`;
      lines.push(`  last ${r.kind === 'mirror' ? 'mirror pass' : 'key reconciliation'} at ${r.at}: ${r.refused ? `refused — ${r.refused}` : found}`);
    }
    for (const c of s.schemaChanges ?? []) lines.push(`  schema change at ${c.at} (batch ${c.batch}, ${c.outcome}): ${c.changes.join('; ')}`);
    const lag = lagSummary(s.lag);
    lines.push(`  lag: ${lag.text}${lag.other ? ` (${lag.other})` : ''}`);
  }
  const points = history.points;
  const minute = 60_000;
  const from = Date.parse(history.from);
  const perMinute = Array.from({ length: 60 }, (_, i) =>
    points.filter((p) => Math.floor((Date.parse(p.t) - from) / minute) === i).reduce((n, p) => n + p.rows, 0),
  );
  const rate = perMinute.slice(-5).reduce((a, b) => a + b, 0) / 300;
  const progress = copyProgress(s, rate);
  if (progress)
    lines.push(
      `  ${progress.initial ? 'initial copy' : 'catching up'}: ${progress.percent}% (${progress.rowsLeft} rows left${progress.etaSeconds ? `, about ${progress.etaSeconds} s to go` : ''})`,
    );
  const errors = points.reduce((n, p) => n + p.errors, 0);
  lines.push(`  last hour: ${perMinute.reduce((a, b) => a + b, 0)} rows, ${errors} error(s)  |${spark(perMinute)}|`);
  return lines.join('\n') + '\n';
}
