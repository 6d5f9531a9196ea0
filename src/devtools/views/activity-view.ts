/**
 * The activity view: appends per second and commit latency, live, from the store's commit
 * notices (head deltas and `commitMs`; see `commit-stats.ts`), as figures and as a chart.
 * The chart's code (uPlot) is loaded when this view first opens.
 */
import type { InspectorContext, View } from '../context.ts';
import { fill, h } from '../dom.ts';
import type { CommitChart } from '../commit-chart.ts';

/** The activity view. */
export class ActivityView implements View {
  readonly element: HTMLElement;
  readonly #ctx: InspectorContext;
  readonly #figures = h('div', { class: 'stats' });
  readonly #host = h('div', { class: 'chart' }, h('p', { class: 'muted' }, 'Loading the chart…'));
  #chart: CommitChart | undefined;
  #loading: Promise<void> | undefined;
  #timer: ReturnType<typeof setInterval> | undefined;
  #resize: ResizeObserver | undefined;

  constructor(ctx: InspectorContext) {
    this.#ctx = ctx;
    this.element = h(
      'div',
      { class: 'activity-view' },
      this.#figures,
      this.#host,
      h('p', { class: 'muted' }, 'From every tab’s commits: the events each commit notice adds to the head, and its transaction’s time (BEGIN to COMMIT, in the leader’s worker).'),
    );
    ctx.signal.addEventListener('abort', () => this.#chart?.destroy(), { once: true });
  }

  show(): void {
    this.#loading ??= this.#loadChart();
    this.#timer = setInterval(() => this.#tick(), 1_000);
    if (typeof ResizeObserver !== 'undefined') {
      this.#resize = new ResizeObserver(() => this.#chart?.resize(this.#width()));
      this.#resize.observe(this.#host);
    }
    this.#tick();
  }

  hide(): void {
    clearInterval(this.#timer);
    this.#resize?.disconnect();
  }

  async #loadChart(): Promise<void> {
    try {
      const { createCommitChart } = await import('../commit-chart.ts');
      if (this.#ctx.signal.aborted) return;
      fill(this.#host);
      this.#chart = createCommitChart(this.#host, this.#ctx.stats.series(), this.#width());
      this.element.dataset.chart = 'ready';
    } catch (e) {
      fill(this.#host, h('p', { class: 'muted' }, `The chart could not be loaded: ${String(e)}`));
    }
  }

  #width(): number {
    return Math.max(280, Math.floor(this.#host.clientWidth || this.element.clientWidth || 600));
  }

  #tick(): void {
    const { stats } = this.#ctx;
    const series = stats.series();
    const now = Math.floor(Date.now() / 1000);
    const last = stats.second(now - 1);
    const recent = series.events.slice(-10).reduce((a, b) => a + b, 0) / 10;
    const figure = (label: string, value: string, id: string): HTMLElement =>
      h('div', { class: 'stat', 'data-stat': id }, h('b', null, value), h('span', { class: 'muted' }, label));
    fill(
      this.#figures,
      figure('events in the last second', String(last?.events ?? 0), 'last-second'),
      figure('events/s, last 10 s', recent.toFixed(1), 'rate'),
      figure('events since opened', String(stats.totals.events), 'events'),
      figure('commits since opened', String(stats.totals.commits), 'commits'),
      figure('mean commit ms, last second', last !== undefined && last.commits > 0 ? (last.sumMs / last.commits).toFixed(2) : '—', 'mean-ms'),
      figure('max commit ms since opened', stats.totals.commits > 0 ? stats.totals.maxMs.toFixed(2) : '—', 'max-ms'),
    );
    this.#chart?.update(series);
  }
}
