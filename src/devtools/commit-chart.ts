/**
 * The activity chart: events appended per second (left axis) and commit time in ms, mean
 * and max per second (right axis), over the last two minutes, drawn by uPlot. Loaded only
 * when the activity view first opens.
 *
 * uPlot draws on a canvas, which cannot read CSS variables: the colours are read from the
 * inspector's computed style when the chart is made.
 */
import uPlot from 'uplot';
import type { StatsSeries } from './commit-stats.ts';

/** What the activity view needs of its chart. */
export interface CommitChart {
  update(series: StatsSeries): void;
  resize(width: number): void;
  destroy(): void;
}

/** Draws the chart into `parent`. */
export function createCommitChart(parent: HTMLElement, series: StatsSeries, width: number): CommitChart {
  const style = getComputedStyle(parent);
  const css = (name: string, fallback: string): string => style.getPropertyValue(name).trim() || fallback;
  const fg = css('--muted', '#66707c');
  const line = css('--line', '#d9dde3');
  const accent = css('--accent', '#2b62d9');
  const warn = css('--warn', '#b76e00');
  const axis = { stroke: fg, grid: { stroke: line, width: 1 }, ticks: { stroke: line, width: 1 } };
  const plot = new uPlot(
    {
      width,
      height: 220,
      cursor: { drag: { x: false, y: false } },
      scales: { x: { time: true }, n: { range: (_u, _min, max) => [0, Math.max(10, max * 1.1)] }, ms: { range: (_u, _min, max) => [0, Math.max(5, max * 1.1)] } },
      series: [
        {},
        { label: 'events/s', scale: 'n', stroke: accent, width: 2, fill: `color-mix(in srgb, ${accent} 14%, transparent)`, points: { show: false } },
        { label: 'commit ms (mean)', scale: 'ms', stroke: warn, width: 1.5, spanGaps: false, points: { show: false } },
        { label: 'commit ms (max)', scale: 'ms', stroke: warn, width: 1, dash: [4, 4], spanGaps: false, points: { show: false } },
      ],
      axes: [
        // Times of day only: the window is two minutes, a date on each tick would only crowd it.
        { ...axis, values: (_u, splits) => splits.map(clock) },
        { ...axis, scale: 'n', label: 'events/s', size: 56 },
        { ...axis, scale: 'ms', side: 1, label: 'commit ms', size: 56, grid: { show: false } },
      ],
    },
    dataOf(series),
    parent,
  );
  return {
    update: (s) => plot.setData(dataOf(s)),
    resize: (w) => plot.setSize({ width: w, height: 220 }),
    destroy: () => plot.destroy(),
  };
}

function clock(seconds: number): string {
  const d = new Date(seconds * 1000);
  return [d.getHours(), d.getMinutes(), d.getSeconds()].map((n) => String(n).padStart(2, '0')).join(':');
}

function dataOf(s: StatsSeries): uPlot.AlignedData {
  return [s.t, s.events, s.meanMs, s.maxMs];
}
