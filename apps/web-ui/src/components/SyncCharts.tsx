import { useEffect, useState } from 'react';
import { useSamples } from '../lib/live-samples.ts';
import { formatCount, formatRate } from '../lib/format.ts';
import { Sparkline } from './Sparkline.tsx';

/** Redraws charts every few seconds so that they slide with time even when nothing arrives. */
function useNow(everyMs = 2_000): number {
  const [now, setNow] = useState(Date.now);
  useEffect(() => {
    const t = setInterval(() => setNow(Date.now()), everyMs);
    return () => clearInterval(t);
  }, [everyMs]);
  return now;
}

/** Throughput and lag of one sync over the last minutes, from the samples this page collected. */
export function SyncCharts({ syncId, spanMs = 5 * 60_000, width = 160 }: { syncId: string; spanMs?: number; width?: number }) {
  const series = useSamples(syncId);
  const now = useNow();
  const rate = series.map((s) => [s.t, s.rate] as const);
  const lag = series.filter((s) => s.lagRows !== undefined || s.lagSeconds !== undefined).map((s) => [s.t, s.lagRows ?? s.lagSeconds ?? 0] as const);
  const lagInSeconds = series.length > 0 && series.at(-1)!.lagRows === undefined && series.at(-1)!.lagSeconds !== undefined;
  const lagText = (v: number) => (lagInSeconds ? `${formatCount(v)} s` : `${formatCount(v)} rows`);
  const lastRate = rate.at(-1)?.[1];
  const lastLag = lag.at(-1)?.[1];
  return (
    <div className="charts">
      <figure>
        <Sparkline points={rate} label={`${syncId} throughput`} format={formatRate} spanMs={spanMs} width={width} now={now} />
        <figcaption>throughput{lastRate !== undefined && `: ${formatRate(lastRate)}`}</figcaption>
      </figure>
      <figure>
        <Sparkline points={lag} label={`${syncId} lag`} format={lagText} spanMs={spanMs} width={width} now={now} />
        <figcaption>lag{lastLag !== undefined && `: ${lagText(lastLag)}`}</figcaption>
      </figure>
    </div>
  );
}
