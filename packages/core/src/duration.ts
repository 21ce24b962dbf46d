const UNITS: Record<string, number> = { ms: 1, s: 1000, m: 60_000, h: 3_600_000 };

/** Matches the duration strings Idra accepts: `250ms`, `5s`, `1.5m`, `2h`. */
export const DURATION_PATTERN = '^\\s*\\d+(\\.\\d+)?\\s*(ms|s|m|h)\\s*$';

/** Turns `5000`, `'5000'` or `'5s'` into milliseconds; returns undefined when the value is not a duration. */
export function parseDuration(value: number | string): number | undefined {
  if (typeof value === 'number') return Number.isFinite(value) && value >= 0 ? Math.round(value) : undefined;
  const plain = value.trim();
  if (/^\d+$/.test(plain)) return Number(plain);
  const m = /^(\d+(?:\.\d+)?)\s*(ms|s|m|h)$/.exec(plain);
  if (!m) return undefined;
  return Math.round(Number(m[1]) * UNITS[m[2]!]!);
}
