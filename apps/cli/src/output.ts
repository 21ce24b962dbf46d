/** Text output: aligned columns for lists, key: value lines for single records. */
export function table(headers: string[], rows: Array<Array<string | number | boolean | null | undefined>>): string {
  const cells = rows.map((r) => r.map((c) => (c === null || c === undefined || c === '' ? '-' : String(c))));
  const widths = headers.map((h, i) => Math.max(h.length, ...cells.map((r) => r[i]!.length)));
  const line = (r: string[]) => r.map((c, i) => (i === r.length - 1 ? c : c.padEnd(widths[i]!))).join('  ').trimEnd();
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
