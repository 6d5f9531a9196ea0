/**
 * The tabs view: this tab's role, live through `store.onRoleChange`, with the changes seen
 * since the inspector opened; the election as Web Locks show it (the store's lock is held by
 * the leader's worker, and each follower's worker waits for it); and the other tabs that
 * have an inspector open on the store (the inspectors' own presence channel).
 */
import type { InspectorContext, View } from '../context.ts';
import { fill, h, timeOfDay } from '../dom.ts';

/** The tabs view. */
export class TabsView implements View {
  readonly element: HTMLElement;
  readonly #ctx: InspectorContext;
  readonly #self = h('div');
  readonly #election = h('div');
  readonly #others = h('div');
  #stop: (() => void)[] = [];

  constructor(ctx: InspectorContext) {
    this.#ctx = ctx;
    this.element = h(
      'div',
      { class: 'tabs-view' },
      h('section', null, h('h3', null, 'This tab'), this.#self),
      h('section', null, h('h3', null, 'Election'), this.#election),
      h('section', null, h('h3', null, 'Other tabs with an inspector'), this.#others),
      h(
        'div',
        { class: 'note', style: 'margin-top:12px' },
        'Each tab runs its own worker; the workers compete for one Web Lock, and its holder (the leader) owns the database. ',
        'The others forward their calls to it. Close the leader tab and a follower takes over.',
      ),
    );
  }

  show(): void {
    const timer = setInterval(() => void this.#drawElection(), 1_000);
    this.#stop.push(
      // The inspector records the change (ctx.roles) before this listener runs: it was registered first.
      this.#ctx.store.onRoleChange(() => this.#drawSelf()),
      this.#ctx.presence.onChange(() => {
        this.#drawOthers();
        this.#drawSelf();
      }),
      () => clearInterval(timer),
    );
    this.#drawSelf();
    this.#drawOthers();
    void this.#drawElection();
  }

  hide(): void {
    for (const stop of this.#stop.splice(0)) stop();
  }

  #drawSelf(): void {
    const { store, presence } = this.#ctx;
    fill(
      this.#self,
      h(
        'p',
        null,
        'Role: ',
        h('span', { class: `badge ${store.role}`, 'data-testid': 'tab-role' }, store.role),
        h('span', { class: 'muted' }, ` · storage ${store.storage} · lock client ${presence.self.clientId ?? 'unknown'}`),
      ),
      h(
        'ol',
        { class: 'role-changes' },
        this.#ctx.roles.map((c, i) => h('li', null, h('span', { class: 'mono' }, timeOfDay(c.at)), ` ${i === 0 ? 'opened as' : 'became'} ${c.role}`)),
      ),
    );
  }

  async #drawElection(): Promise<void> {
    const locks = typeof navigator === 'undefined' ? undefined : navigator.locks;
    if (locks === undefined) {
      fill(this.#election, h('p', { class: 'muted' }, 'No Web Locks here: this store’s worker works alone.'));
      return;
    }
    try {
      const snapshot = await locks.query();
      const name = `cairn:${this.#ctx.store.name}`;
      const held = snapshot.held?.filter((l) => l.name === name).length ?? 0;
      const waiting = snapshot.pending?.filter((l) => l.name === name).length ?? 0;
      fill(
        this.#election,
        h(
          'p',
          { 'data-testid': 'election' },
          held > 0 ? 'A leader serves the store' : 'No leader right now',
          ` · ${waiting} follower worker${waiting === 1 ? '' : 's'} waiting to take over`,
        ),
      );
    } catch {
      fill(this.#election, h('p', { class: 'muted' }, 'The locks could not be read.'));
    }
  }

  #drawOthers(): void {
    const others = this.#ctx.presence.others();
    fill(
      this.#others,
      others.length === 0
        ? h('p', { class: 'muted' }, 'None seen. Tabs without an inspector are not listed, but take part in the election.')
        : h(
            'table',
            null,
            h('thead', null, h('tr', null, h('th', null, 'tab'), h('th', null, 'role'), h('th', null, 'opened'), h('th', null, 'last seen'))),
            h(
              'tbody',
              null,
              others.map((t) =>
                h(
                  'tr',
                  { 'data-tab': t.id, 'data-role': t.role },
                  h('td', null, t.title || t.url, h('div', { class: 'muted mono' }, t.url)),
                  h('td', null, h('span', { class: `badge ${t.role}` }, t.role)),
                  h('td', { class: 'mono' }, timeOfDay(t.openedAt)),
                  h('td', { class: 'mono' }, timeOfDay(t.seenAt)),
                ),
              ),
            ),
          ),
    );
  }
}
