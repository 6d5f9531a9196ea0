/**
 * The streams view: every stream by category, with its version (its newest event's), its
 * event count and when it was last written, from one `store.query` over the `events`
 * table that `store.watch` runs again after each commit while the view is open. A stream
 * opens in the log view.
 */
import type { Watch } from '../../client/watch.ts';
import type { InspectorContext, View } from '../context.ts';
import { errorBox, fill, h, timeOfDay } from '../dom.ts';

/** At most this many streams are listed; the count says when there are more. */
const MAX_STREAMS = 2_000;

interface StreamRow {
  category: string;
  stream: string;
  version: number;
  events: number;
  last: number;
  at: number;
}

// GROUP BY stream walks the (stream, version) index; each group's max() comes from it too.
const STREAMS_SQL = `SELECT category, stream, max(version) AS version, count(*) AS events,
  max(position) AS last, max(timestamp) AS at FROM events GROUP BY stream ORDER BY category, stream LIMIT ${MAX_STREAMS + 1}`;

/** The streams view. */
export class StreamsView implements View {
  readonly element: HTMLElement;
  readonly #ctx: InspectorContext;
  readonly #body = h('tbody');
  readonly #summary = h('p', { class: 'muted' }, 'Loading…');
  readonly #search = h('input', { type: 'search', placeholder: 'category or stream', name: 'search' });
  #rows: StreamRow[] = [];
  #watch: Watch | undefined;

  constructor(ctx: InspectorContext) {
    this.#ctx = ctx;
    this.#search.addEventListener('input', () => this.#render());
    this.element = h(
      'div',
      { class: 'streams-view' },
      h('div', { class: 'row' }, h('label', null, 'Find', this.#search), this.#summary),
      h(
        'table',
        null,
        h('thead', null, h('tr', null, h('th', null, 'stream'), h('th', { class: 'num' }, 'version'), h('th', { class: 'num' }, 'events'),
          h('th', { class: 'num' }, 'last position'), h('th', null, 'last write'))),
        this.#body,
      ),
    );
  }

  show(): void {
    this.#watch = this.#ctx.store.watch<StreamRow>(STREAMS_SQL, [], (rows) => {
      this.#rows = rows;
      this.#render();
    });
    this.#watch.done.catch((e: unknown) => fill(this.#body, h('tr', null, h('td', { colspan: 5 }, errorBox(e)))));
  }

  hide(): void {
    this.#watch?.close();
    this.#watch = undefined;
  }

  #render(): void {
    const needle = this.#search.value.trim().toLowerCase();
    const shown = this.#rows
      .slice(0, MAX_STREAMS)
      .filter((r) => needle === '' || r.stream.toLowerCase().includes(needle) || r.category.toLowerCase().includes(needle));
    const byCategory = new Map<string, StreamRow[]>();
    for (const r of shown) {
      let list = byCategory.get(r.category);
      if (list === undefined) byCategory.set(r.category, (list = []));
      list.push(r);
    }
    const open = (filter: { stream: string } | { category: string }) => () => this.#ctx.openLog({ filter });
    const rows: HTMLElement[] = [];
    for (const [category, list] of byCategory) {
      const events = list.reduce((n, r) => n + Number(r.events), 0);
      rows.push(
        h(
          'tr',
          { class: 'group', 'data-category': category },
          h('td', { colspan: 5 }, h('button', { type: 'button', class: 'link', onclick: open({ category }) }, category),
            h('span', { class: 'muted' }, ` · ${list.length} stream${list.length === 1 ? '' : 's'}, ${events} events`)),
        ),
      );
      for (const r of list) {
        rows.push(
          h(
            'tr',
            { 'data-stream': r.stream },
            h('td', null, h('button', { type: 'button', class: 'link', onclick: open({ stream: r.stream }) }, r.stream)),
            h('td', { class: 'num' }, r.version),
            h('td', { class: 'num' }, r.events),
            h('td', { class: 'num' }, r.last),
            h('td', { class: 'mono' }, timeOfDay(Number(r.at))),
          ),
        );
      }
    }
    fill(this.#body, rows.length > 0 ? rows : h('tr', null, h('td', { colspan: 5, class: 'muted' }, 'No streams.')));
    const more = this.#rows.length > MAX_STREAMS ? ` (of the first ${MAX_STREAMS} streams)` : '';
    this.#summary.textContent = `${shown.length} streams in ${byCategory.size} categories${more}`;
  }
}
