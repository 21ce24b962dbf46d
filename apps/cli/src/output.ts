import { slotWaitText, type SlotWait } from '@idra/core/health';

/** Text output: aligned columns for lists, key: value lines for single records. */
export function table(headers: string[], rows: Array<Array<string | number | boolean | null | undefined>>): string {
  const cells = rows.map((r) => r.map((c) => (c === null || c === undefined || c === '' ? '-' : String(c))));
  const widths = headers.map((h, i) => Math.max(h.length, ...cells.map((r) => r[i]!.length)));
  const line = (r: string[]) =>
    r
      .map((c, i) => (i === r.length - 1 ? c : c.padEnd(widths[i]!)))
      .join('  ')
      .trimEnd();
  return [line(headers), ...cells.map(line)].join('\n') + '\n';
}

export function json(value: unknown): string {
  return `${JSON.stringify(value, null, 2)}\n`;
}

/** "12 rows, 3 s" style lag. */
export function lagText(lag: { rows?: number | undefined; seconds?: number | undefined } | undefined | null): string {
  if (!lag) return '-';
  const parts: string[] = [];
  if (lag.rows !== undefined) parts.push(`${lag.rows} rows`);
  if (lag.seconds !== undefined) parts.push(`${lag.seconds} s`);
  return parts.join(', ') || '-';
}

interface StatusLike {
  syncId: string;
  state: string;
  agentId: string;
  rowsCopied: number;
  rowsSkipped: number;
  lag?: { rows?: number | undefined; seconds?: number | undefined } | undefined | null;
  updatedAt: string;
  lastError?: { code: string; message: string } | undefined;
  retryInMs?: number | undefined;
  warning?: string | undefined;
  waitingFor?: SlotWait | undefined;
}

/** A configuration problem stops the sync: it needs a change (or a grant), not time. */
const configProblem = (s: Pick<StatusLike, 'state' | 'lastError'>) => s.state === 'failed' && s.lastError?.code.startsWith('IDRA_ERR_CONFIG_') === true;

/** A sync's state, marked when a configuration problem stops it. */
export function stateText(s: Pick<StatusLike, 'state' | 'lastError'> | undefined | null): string | undefined {
  if (!s) return undefined;
  return configProblem(s) ? `${s.state} (configuration)` : s.state;
}

/** One sync's status as lines: counts, then the error (a configuration problem says so, and when it is checked again), then the warning. */
export function statusText(s: StatusLike): string {
  const lines = [
    `${s.syncId}: ${stateText(s)} on ${s.agentId}; ${s.rowsCopied} rows copied, ${s.rowsSkipped} skipped; lag ${lagText(s.lag)}; updated ${s.updatedAt}`,
  ];
  if (s.lastError) {
    const again = s.state === 'failed' && s.retryInMs !== undefined ? ` (checked again in ${Math.ceil(s.retryInMs / 1000)} s)` : '';
    lines.push(`${configProblem(s) ? 'configuration problem' : 'last error'} ${s.lastError.code}: ${s.lastError.message}${again}`);
  }
  if (s.state === 'waiting' && s.waitingFor) lines.push(slotWaitText(s.waitingFor));
  if (s.warning) lines.push(`warning: ${s.warning}`);
  return `${lines.join('\n')}\n`;
}
