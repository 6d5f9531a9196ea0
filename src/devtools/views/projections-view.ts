/**
 * The projections view: each projection of the store's worker with its version, its state
 * (building, ready, failed), its position against the head of the log, and a bar of a
 * rebuild's progress. Starts from `store.projections()` and follows
 * `store.onProjectionProgress`; the head moves with commit notices.
 */
import type { ProjectionProgress } from '../../core/projection.ts';
import type { InspectorContext, View } from '../context.ts';
import { errorBox, fill, h, throttle } from '../dom.ts';

/** The projections view. */
export class ProjectionsView implements View {
  readonly element: HTMLElement;
  readonly #ctx: InspectorContext;
  readonly #list = h('div', { class: 'projections' }, h('p', { class: 'muted' }, 'Loading…'));
  readonly #byName = new Map<string, ProjectionProgress>();
  #head = 0;
  #stop: (() => void)[] = [];
  readonly #render = throttle(() => this.#draw(), 200);

  constructor(ctx: InspectorContext) {
    this.#ctx = ctx;
    this.element = h(
      'div',
      { class: 'projections-view' },
      h('p', { class: 'muted' }, 'SQL read models kept by the worker inside each append’s transaction; a new version rebuilds from the log.'),
      this.#list,
    );
  }

  show(): void {
    const store = this.#ctx.store;
    this.#stop.push(
      store.onProjectionProgress((p) => {
        this.#byName.set(p.name, p);
        this.#head = Math.max(this.#head, p.head);
        this.#render();
      }),
      store.onCommit((n) => {
        this.#head = Math.max(this.#head, n.head);
        this.#render();
      }),
      this.#render.cancel,
    );
    void this.#reload();
  }

  hide(): void {
    for (const stop of this.#stop.splice(0)) stop();
  }

  async #reload(): Promise<void> {
    try {
      const [list, head] = await Promise.all([this.#ctx.store.projections(), this.#ctx.store.head()]);
      for (const p of list) this.#byName.set(p.name, p);
      this.#head = Math.max(this.#head, head, ...list.map((p) => p.head));
      this.#draw();
    } catch (e) {
      fill(this.#list, errorBox(e));
    }
  }

  #draw(): void {
    const list = [...this.#byName.values()].sort((a, b) => a.name.localeCompare(b.name));
    if (list.length === 0) {
      fill(this.#list, h('p', { class: 'note' }, 'This store’s worker has no projections. They are registered with serve({ projections }) in your own worker.'));
      return;
    }
    fill(
      this.#list,
      h(
        'table',
        null,
        h('thead', null, h('tr', null, h('th', null, 'projection'), h('th', { class: 'num' }, 'version'), h('th', null, 'state'),
          h('th', { class: 'num' }, 'position / head'), h('th', null, 'progress'))),
        h(
          'tbody',
          null,
          list.map((p) => {
            // A ready projection is applied in every append's transaction: it is at the head by construction.
            const position = p.state === 'ready' ? Math.max(p.position, this.#head) : p.position;
            const head = Math.max(this.#head, p.head, position);
            const pct = head === 0 ? 100 : Math.min(100, (position / head) * 100);
            return h(
              'tr',
              { 'data-projection': p.name, 'data-state': p.state },
              h('td', { class: 'mono' }, p.name),
              h('td', { class: 'num' }, p.version),
              h('td', null, h('span', { class: `badge ${p.state}` }, p.state), p.error === undefined ? null : errorBox(p.error)),
              h('td', { class: 'num' }, `${position} / ${head}`),
              h(
                'td',
                null,
                h('div', { class: 'bar-track', title: `${pct.toFixed(1)}%` },
                  h('div', { class: `bar-fill ${p.state}`, style: `width:${pct.toFixed(1)}%` })),
              ),
            );
          }),
        ),
      ),
    );
  }
}
