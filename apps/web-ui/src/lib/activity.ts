import type { ActivityPoint, SyncActivity } from '@idra/api-client';

export const MINUTE_MS = 60_000;

/** One value per minute over the range: rows per second, lag (carried forward through quiet minutes), errors. */
export interface MinuteSeries {
  from: number;
  to: number;
  rate: Array<[number, number]>;
  lag: Array<[number, number]>;
  lagUnit: 'rows' | 's';
  errors: Array<[number, number]>;
}

/**
 * The points the agents wrote (only minutes where something happened or changed) as complete
 * per-minute series: a missing minute copied nothing, and its lag and state were those of the last
 * point before it — except that a paused or stopped sync has no lag.
 */
export function minuteSeries(activity: SyncActivity): MinuteSeries {
  const from = Math.floor(Date.parse(activity.from) / MINUTE_MS) * MINUTE_MS;
  const to = Date.parse(activity.to);
  const byMinute = new Map<number, ActivityPoint>(activity.points.map((p) => [Date.parse(p.t), p]));
  const lagUnit = activity.points.some((p) => p.lagRows !== undefined) || !activity.points.some((p) => p.lagSeconds !== undefined) ? 'rows' : 's';
  const rate: MinuteSeries['rate'] = [];
  const lag: MinuteSeries['lag'] = [];
  const errors: MinuteSeries['errors'] = [];
  let last: ActivityPoint | undefined;
  for (let t = from; t <= to; t += MINUTE_MS) {
    const p = byMinute.get(t);
    if (p) last = p;
    rate.push([t, (p?.rows ?? 0) / 60]);
    errors.push([t, p?.errors ?? 0]);
    const value = lagUnit === 'rows' ? last?.lagRows : last?.lagSeconds;
    if (last && value !== undefined && last.state !== 'stopped') lag.push([t, value]);
  }
  return { from, to, rate, lag, lagUnit, errors };
}

/** Rows per second over the last `minutes` complete minutes. */
export function recentRate(series: MinuteSeries, minutes = 5): number {
  const recent = series.rate.slice(-minutes - 1, -1);
  return recent.length === 0 ? 0 : recent.reduce((n, [, v]) => n + v, 0) / recent.length;
}
