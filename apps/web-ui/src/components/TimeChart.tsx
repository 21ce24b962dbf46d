import { useEffect, useId, useRef, useState, type RefObject } from 'react';

export interface TimeChartProps {
  /** [time ms, value], oldest first. */
  points: ReadonlyArray<readonly [number, number]>;
  from: number;
  to: number;
  /** What the chart shows ("Throughput, rows/s"). */
  title: string;
  format: (v: number) => string;
  width?: number;
  height?: number;
  /** Bars for counts per minute, a line for levels. */
  kind?: 'line' | 'bars';
  /** The values are shown as whole numbers (rows, errors): the value axis gets whole ticks, never a "1" drawn at 0.5. */
  whole?: boolean;
}

const time = new Intl.DateTimeFormat(undefined, { hour: '2-digit', minute: '2-digit' });

/** The rendered width of an element, followed as it changes (a phone turned, a window resized). */
function useWidth(fallback: number): [RefObject<HTMLElement | null>, number] {
  const ref = useRef<HTMLElement | null>(null);
  const [width, setWidth] = useState(fallback);
  useEffect(() => {
    const element = ref.current;
    if (!element) return;
    const observer = new ResizeObserver(([entry]) => entry && entry.contentRect.width > 0 && setWidth(Math.round(entry.contentRect.width)));
    observer.observe(element);
    return () => observer.disconnect();
  }, []);
  return [ref, width];
}

/** Below this many pixels per time label, fewer labels are drawn. */
const PX_PER_TIME_LABEL = 90;

/**
 * A chart with a time axis and a value axis (inline SVG): what the detail page shows of a sync's last
 * hours. Drawn at the width it is given on screen, in real pixels, so its labels keep their size and
 * shape on a phone (a fixed drawing stretched to fit squashed them).
 */
export function TimeChart({ points, from, to, title, format, width: initialWidth = 560, height = 160, kind = 'line', whole = false }: TimeChartProps) {
  const id = useId();
  const [figure, width] = useWidth(initialWidth);
  const left = 56;
  const bottom = 22;
  const top = 8;
  const plotW = width - left - 8;
  const plotH = height - top - bottom;
  const max = Math.max(...points.map(([, v]) => v), 0);
  // An even whole top puts the middle tick on a whole number too.
  const yMax = whole ? 2 * Math.max(1, Math.ceil((max * 1.1) / 2)) : max === 0 ? 1 : max * 1.1;
  const x = (t: number) => left + ((t - from) / Math.max(1, to - from)) * plotW;
  const y = (v: number) => top + plotH - (v / yMax) * plotH;
  const spans = Math.max(1, Math.min(4, Math.floor(plotW / PX_PER_TIME_LABEL)));
  const xTicks = Array.from({ length: spans + 1 }, (_, i) => from + ((to - from) * i) / spans);
  const yTicks = [0, yMax / 2, yMax];
  const peak = points.reduce((m, p) => (p[1] > m[1] ? p : m), [from, 0] as readonly [number, number]);
  const summary =
    points.length === 0 ? `${title}: no data in this range` : `${title}: now ${format(points.at(-1)![1])}, peak ${format(peak[1])} at ${time.format(peak[0])}`;
  const line = points.map(([t, v], i) => `${i === 0 ? 'M' : 'L'}${x(t).toFixed(1)},${y(v).toFixed(1)}`).join(' ');
  const barW = Math.max(1, plotW / Math.max(1, (to - from) / 60_000) - 1);
  return (
    <figure className="time-chart" ref={figure}>
      <figcaption id={id}>{title}</figcaption>
      <svg width={width} height={height} viewBox={`0 0 ${width} ${height}`} role="img" aria-labelledby={id} aria-describedby={`${id}-d`}>
        <desc id={`${id}-d`}>{summary}</desc>
        {yTicks.map((v) => (
          <g key={v}>
            <line x1={left} x2={width - 8} y1={y(v)} y2={y(v)} className="chart-grid" />
            <text x={left - 6} y={y(v) + 4} textAnchor="end" className="chart-label">
              {format(v)}
            </text>
          </g>
        ))}
        {xTicks.map((t, i) => (
          <text key={t} x={x(t)} y={height - 6} textAnchor={i === spans ? 'end' : 'middle'} className="chart-label">
            {time.format(t)}
          </text>
        ))}
        <line x1={left} x2={left} y1={top} y2={top + plotH} className="chart-axis" />
        <line x1={left} x2={width - 8} y1={top + plotH} y2={top + plotH} className="chart-axis" />
        {kind === 'bars'
          ? points.filter(([, v]) => v > 0).map(([t, v]) => <rect key={t} x={x(t)} y={y(v)} width={barW} height={top + plotH - y(v)} className="chart-bar" />)
          : points.length > 1 && <path d={line} className="chart-line" />}
      </svg>
    </figure>
  );
}
