export interface SparklineProps {
  /** [time ms, value] pairs, oldest first. */
  points: ReadonlyArray<readonly [number, number]>;
  /** What the chart shows, for screen readers and the tooltip ("orders: throughput"). */
  label: string;
  format: (v: number) => string;
  /** The time span drawn, ending now. @default 5 minutes */
  spanMs?: number;
  width?: number;
  height?: number;
  now?: number;
}

/** A small line chart of recent values (inline SVG, no library). */
export function Sparkline({ points, label, format, spanMs = 5 * 60_000, width = 160, height = 36, now = Date.now() }: SparklineProps) {
  const start = now - spanMs;
  const shown = points.filter(([t]) => t >= start);
  const last = shown.at(-1)?.[1];
  const summary = last === undefined ? `${label}: no data yet` : `${label}: now ${format(last)}, peak ${format(Math.max(...shown.map(([, v]) => v)))}`;
  if (shown.length < 2) {
    return (
      <svg className="sparkline" width={width} height={height} role="img" aria-label={summary}>
        <title>{summary}</title>
        <line x1="0" x2={width} y1={height - 1} y2={height - 1} className="sparkline-base" />
      </svg>
    );
  }
  const max = Math.max(...shown.map(([, v]) => v), 1e-9);
  const x = (t: number) => ((t - start) / spanMs) * width;
  const y = (v: number) => height - 2 - (v / max) * (height - 4);
  const line = shown.map(([t, v], i) => `${i === 0 ? 'M' : 'L'}${x(t).toFixed(1)},${y(v).toFixed(1)}`).join(' ');
  const area = `${line} L${x(shown.at(-1)![0]).toFixed(1)},${height} L${x(shown[0]![0]).toFixed(1)},${height} Z`;
  return (
    <svg className="sparkline" width={width} height={height} viewBox={`0 0 ${width} ${height}`} role="img" aria-label={summary}>
      <title>{summary}</title>
      <path d={area} className="sparkline-area" />
      <path d={line} className="sparkline-line" />
    </svg>
  );
}
