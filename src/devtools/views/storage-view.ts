/**
 * The storage view: where the store keeps its data (`store.storage`), what the browser says
 * of the origin's storage (`store.estimate()`: usage, quota, whether it is persisted), a
 * button that asks the browser to keep it (`store.persist()`), and the store's sync status
 * (`store.sync.status`, live through `onStatus`).
 */
import type { InspectorContext, View } from '../context.ts';
import type { InspectedStore } from '../inspected-store.ts';
import { bytes, errorBox, fill, h } from '../dom.ts';

const MODES: Record<string, string> = {
  opfs: 'SQLite on the Origin Private File System (opfs-sahpool VFS), owned by the leader tab’s worker.',
  indexeddb: 'SQLite in the worker, each commit made durable in IndexedDB.',
  memory: 'In memory, in the leader’s worker: gone when it stops.',
};

/** The storage view. */
export class StorageView implements View {
  readonly element: HTMLElement;
  readonly #ctx: InspectorContext;
  readonly #origin = h('div', null, h('p', { class: 'muted' }, 'Asking the browser…'));
  readonly #sync = h('div');
  #offSync: (() => void) | undefined;

  constructor(ctx: InspectorContext) {
    this.#ctx = ctx;
    const mode = ctx.store.storage;
    this.element = h(
      'div',
      { class: 'storage-view' },
      h('section', null, h('h3', null, 'Mode'), h('p', null, h('span', { class: 'badge', 'data-testid': 'storage-mode' }, mode), ' ', MODES[mode] ?? '')),
      h('section', null, h('h3', null, 'This origin (store.estimate())'), this.#origin),
      h('section', { class: 'sync' }, h('h3', null, 'Sync (store.sync)'), this.#sync),
    );
  }

  show(): void {
    void this.#drawOrigin();
    const sync = this.#ctx.store.sync as InspectedStore['sync'] | undefined;
    if (sync === undefined) {
      fill(this.#sync, h('p', { class: 'muted' }, 'This store has no sync.'));
      return;
    }
    this.#drawSync(sync.status);
    this.#offSync = sync.onStatus((status) => this.#drawSync(status));
  }

  hide(): void {
    this.#offSync?.();
    this.#offSync = undefined;
  }

  #drawSync(status: InspectedStore['sync']['status']): void {
    if (status.state === 'disabled') {
      fill(this.#sync, h('p', { 'data-sync-state': 'disabled' }, h('span', { class: 'badge' }, 'disabled'),
        ' This store was opened without a sync server (openStore({ sync: { url } }) turns it on).'));
      return;
    }
    const item = (term: string, value: string | number): HTMLElement[] => [h('dt', null, term), h('dd', null, String(value))];
    fill(
      this.#sync,
      h('div', { class: 'detail', 'data-sync-state': status.state },
        h('dl', null,
          item('state', status.state),
          item('pending local writes', status.pending),
          item('server position', status.serverPosition ?? '— (no pull yet)'),
          item('last synced', status.lastSyncedAt === null ? 'never' : new Date(status.lastSyncedAt).toLocaleString()),
        ),
        status.error === undefined ? null : errorBox(status.error)),
    );
  }

  async #drawOrigin(): Promise<void> {
    try {
      const { usage, quota, persisted } = await this.#ctx.store.estimate();
      if (usage === null || quota === null) {
        fill(this.#origin, h('p', { class: 'muted' }, 'This runtime does not report its storage use.'), this.#persisted(persisted));
        return;
      }
      const pct = quota > 0 ? (usage / quota) * 100 : 0;
      fill(
        this.#origin,
        h('p', null, `${bytes(usage)} used of ${bytes(quota)} (${pct.toFixed(pct < 1 ? 3 : 1)}%)`),
        h('div', { class: 'bar-track', style: 'max-width:320px' }, h('div', { class: 'bar-fill', style: `width:${Math.min(100, pct)}%` })),
        this.#persisted(persisted),
        h('p', { class: 'muted' }, 'For the whole origin, every store and cache included; Chromium reports a rounded, padded figure.'),
      );
    } catch (e) {
      fill(this.#origin, errorBox(e));
    }
  }

  /** Whether the origin's data is persisted, with a button that asks for it when not. */
  #persisted(persisted: boolean): HTMLElement {
    if (persisted) return h('p', { 'data-persisted': 'yes' }, 'Persisted: yes');
    const ask = h('button', {
      'data-testid': 'persist',
      onclick: () => {
        ask.disabled = true;
        void this.#ctx.store.persist().then(
          () => this.#drawOrigin(),
          (e: unknown) => fill(this.#origin, errorBox(e)),
        );
      },
    }, 'Ask the browser to keep it (store.persist())');
    return h('p', { 'data-persisted': 'no' }, 'Persisted: no (the browser may evict it under pressure) ', ask);
  }
}
