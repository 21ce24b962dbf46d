import { useQuery } from '@tanstack/react-query';
import type { SyncActivity } from '@idra/api-client';
import { useClient } from '../api/client-context.tsx';
import { keys } from '../api/queries.ts';
import { minuteSeries } from '../lib/activity.ts';
import { formatCount, formatRate } from '../lib/format.ts';
import { Sparkline } from './Sparkline.tsx';
import { TimeChart } from './TimeChart.tsx';

/** A sync's per-minute activity as the agents stored it (it survives reloads and API restarts). */
export function useActivity(syncId: string, range: SyncActivity['range'] = '1h') {
  const client = useClient();
  return useQuery({ queryKey: keys.activity(syncId, range), queryFn: () => client.syncs.activity(syncId, { range }), refetchInterval: 30_000 });
}

/** Throughput and lag of the last hour in a table row (dashboard). */
export function SyncSparklines({ syncId, width = 140 }: { syncId: string; width?: number }) {
  const activity = useActivity(syncId);
  if (!activity.data) return <span className="muted small">…</span>;
  const s = minuteSeries(activity.data);
  const lagText = (v: number) => `${formatCount(v)} ${s.lagUnit}`;
  return (
    <div className="charts">
      <Sparkline points={s.rate} label={`${syncId} throughput, last hour`} format={formatRate} spanMs={s.to - s.from} width={width} now={s.to} />
      <Sparkline points={s.lag} label={`${syncId} lag, last hour`} format={lagText} spanMs={s.to - s.from} width={width} now={s.to} />
    </div>
  );
}

/** Throughput, lag and errors with axes, over a chosen range (detail page). */
export function SyncCharts({ activity }: { activity: SyncActivity }) {
  const s = minuteSeries(activity);
  return (
    <div className="chart-grid-3">
      <TimeChart
        title="Throughput (rows/s, per minute)"
        points={s.rate}
        from={s.from}
        to={s.to}
        format={(v) => formatRate(v).replace(' rows/s', '')}
        kind="bars"
      />
      <TimeChart
        title={`Lag (${s.lagUnit === 'rows' ? 'rows behind' : 'seconds behind'})`}
        points={s.lag}
        from={s.from}
        to={s.to}
        format={(v) => formatCount(v)}
        whole
      />
      <TimeChart title="Errors (per minute)" points={s.errors} from={s.from} to={s.to} format={(v) => formatCount(v)} kind="bars" whole />
    </div>
  );
}
