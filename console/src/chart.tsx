/** A small SVG line chart with its latest value as text (screen readers get the figure caption). */
import type { JSX } from 'preact';
import { num } from './format';

export interface Point {
  readonly at: number;
  readonly value: number;
}

const W = 320;
const H = 90;

export function LineChart(props: { title: string; unit?: string; points: readonly Point[]; windowMs: number }): JSX.Element {
  const { points } = props;
  const last = points[points.length - 1];
  const end = last?.at ?? Date.now();
  // Until the window fills, the points span the whole width.
  const first = points[0]?.at ?? end;
  const span = Math.max(10_000, Math.min(props.windowMs, end - first));
  const start = end - span;
  const peak = Math.max(0, ...points.map((p) => p.value));
  const max = Math.max(1, peak * 1.15);
  const x = (at: number): number => ((at - start) / span) * W;
  const y = (v: number): number => H - 4 - (v / max) * (H - 12);
  const line = points.map((p, i) => `${i === 0 ? 'M' : 'L'}${x(p.at).toFixed(1)},${y(p.value).toFixed(1)}`).join(' ');
  const area = points.length > 1 ? `${line} L${x(last!.at).toFixed(1)},${H} L${x(points[0]!.at).toFixed(1)},${H} Z` : '';
  return (
    <figure class="chart">
      <figcaption>
        <span class="chart-title">{props.title}</span>
        <span class="chart-value" data-testid={`value-${props.title}`}>
          {num(last?.value)}
          {props.unit === undefined ? '' : ` ${props.unit}`}
        </span>
      </figcaption>
      <svg viewBox={`0 0 ${W} ${H}`} role="img" aria-label={`${props.title}: ${num(last?.value)} now, peak ${num(peak)} in the last ${Math.round(props.windowMs / 60000)} minutes`} preserveAspectRatio="none">
        <line x1="0" x2={W} y1={y(max)} y2={y(max)} class="grid" />
        <text x="2" y="10" class="axis">
          {num(peak)}
        </text>
        {area === '' ? null : <path d={area} class="area" />}
        {points.length > 1 ? <path d={line} class="line" /> : null}
      </svg>
    </figure>
  );
}
