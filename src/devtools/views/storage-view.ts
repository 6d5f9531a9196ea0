/**
 * The storage view: where the store keeps its data (`store.storage`), and what the browser
 * says of the origin's storage (`navigator.storage.estimate()` and `persisted()`).
 *
 * and the store's sync status (`store.sync.status`, live through `onStatus`).
 *
 * The store's own usage, quota and persistence calls are planned but not in this version of
 * the store; the panel marked "Coming" says so, and tells when a store has them (checked at
 * run time, so this view needs no change then).
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
  readonly #coming = h('div');
  readonly #sync = h('div');
  #offSync: (() => void) | undefined;

  constructor(ctx: InspectorContext) {
    this.#ctx = ctx;
    const mode = ctx.store.storage;
    this.element = h(
      'div',
      { class: 'storage-view' },
      h('section', null, h('h3', null, 'Mode'), h('p', null, h('span', { class: 'badge', 'data-testid': 'storage-mode' }, mode), ' ', MODES[mode] ?? '')),
      h('section', null, h('h3', null, 'This origin (navigator.storage)'), this.#origin),
      h('section', { class: 'sync' }, h('h3', null, 'Sync (store.sync)'), this.#sync),
      h('section', { class: 'coming' }, h('h3', null, 'Coming: the store’s own figures'), this.#coming),
    );
  }

  show(): void {
    void this.#drawOrigin();
    this.#drawComing();
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
    const storage = typeof navigator === 'undefined' ? undefined : navigator.storage;
    if (storage?.estimate === undefined) {
      fill(this.#origin, h('p', { class: 'muted' }, 'This runtime has no StorageManager.'));
      return;
    }
    try {
      const [estimate, persisted] = await Promise.all([storage.estimate(), storage.persisted?.() ?? Promise.resolve(undefined)]);
      const usage = estimate.usage ?? 0;
      const quota = estimate.quota ?? 0;
      const pct = quota > 0 ? (usage / quota) * 100 : 0;
      fill(
        this.#origin,
        h('p', null, `${bytes(usage)} used of ${bytes(quota)} (${pct.toFixed(pct < 1 ? 3 : 1)}%)`),
        h('div', { class: 'bar-track', style: 'max-width:320px' }, h('div', { class: 'bar-fill', style: `width:${Math.min(100, pct)}%` })),
        h('p', null, 'Persisted: ', persisted === undefined ? 'unknown' : persisted ? 'yes' : 'no (the browser may evict it under pressure)'),
        h('p', { class: 'muted' }, 'For the whole origin, every store and cache included; Chromium reports a rounded, padded figure.'),
      );
    } catch (e) {
      fill(this.#origin, errorBox(e));
    }
  }

  #drawComing(): void {
    const store = this.#ctx.store as unknown as Record<string, unknown>;
    const has = (name: string): boolean => name in store && store[name] !== undefined;
    const item = (name: string, what: string): HTMLElement =>
      h('li', null, h('code', null, name), ` — ${what}: `, has(name.replace(/\(\)$/, '').replace(/^store\./, ''))
        ? h('span', { class: 'badge ready' }, 'available')
        : h('span', { class: 'badge' }, 'not in this version'));
    fill(
      this.#coming,
      h(
        'div',
        { class: 'note' },
        h('p', null, 'Planned for the store itself; this panel shows them once the store offers them.'),
        h(
          'ul',
          null,
          item('store.estimate()', 'the store’s usage, quota and whether it is persisted'),
          item('store.persist()', 'ask the browser to keep the data'),
        ),
      ),
    );
  }
}
