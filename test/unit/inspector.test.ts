// @vitest-environment happy-dom
/**
 * The inspector's views against the in-process store, in happy-dom: the log (rows, an
 * event's details, the correlation link, which filters through SQL), a projection's rebuild
 * bar, a registered consumer's dead letter retried, and `close()` leaving nothing behind.
 * The browser suite (`test/browser/playground.spec.ts`) covers the same in Chromium, with
 * CodeMirror, uPlot, Web Locks and several tabs.
 */
import { afterEach, beforeEach, describe, expect, it, onTestFinished } from 'vitest';
import { openStore, type Projection, type ProjectionProgress, type Store } from '../../src/client/index.ts';
import { createSqliteWasmDriver } from '../../src/core/sqlite-wasm-driver.ts';
import { loadSqlite } from '../../src/core/sqlite-wasm.ts';
import type { InspectedStore } from '../../src/devtools/context.ts';
import { mountInspector, type Inspector } from '../../src/devtools/index.ts';

const totals: Projection = {
  name: 'totals',
  version: 1,
  setup: (db) => db.exec('CREATE TABLE totals (id TEXT PRIMARY KEY, n INTEGER NOT NULL)'),
  handle: (e, db) => void db.run('INSERT INTO totals VALUES (?, 1) ON CONFLICT (id) DO UPDATE SET n = n + 1', [e.stream]),
};

let store: Store;
let host: HTMLElement;
let inspector: Inspector | undefined;
let n = 0;

beforeEach(async () => {
  const sqlite3 = await loadSqlite();
  const driver = createSqliteWasmDriver(sqlite3, new sqlite3.oo1.DB(':memory:', 'c'));
  store = await openStore({ name: `inspector-${++n}`, driver, projections: [totals] });
  host = document.createElement('div');
  document.body.append(host);
});

afterEach(async () => {
  inspector?.close();
  inspector = undefined;
  host.remove();
  await store.close();
});

/** The inspector's shadow root. */
function shadow(): ShadowRoot {
  return host.querySelector('[data-cairn-inspector]')!.shadowRoot!;
}

/** Polls until `fn` stops throwing (happy-dom has no Playwright-style waiting). */
async function until<T>(fn: () => T | Promise<T>, timeout = 5_000): Promise<T> {
  const deadline = Date.now() + timeout;
  for (;;) {
    try {
      return await fn();
    } catch (e) {
      if (Date.now() > deadline) throw e;
      await new Promise((r) => setTimeout(r, 20));
    }
  }
}

const $ = <T extends Element = HTMLElement>(selector: string): T => {
  const el = shadow().querySelector<T>(selector);
  if (el === null) throw new Error(`nothing matches ${selector}`);
  return el;
};
const $$ = (selector: string): HTMLElement[] => [...shadow().querySelectorAll<HTMLElement>(selector)];
const click = (el: Element): void => void (el as HTMLElement).click();

describe('the inspector', () => {
  it('lists the log newest first, shows an event in full, and filters by its correlation', async () => {
    await store.append('cart-1', [{ type: 'ItemAdded', data: { sku: 'A1' }, metadata: { correlationId: 'c1' } }]);
    await store.append('cart-2', [{ type: 'ItemAdded', data: { sku: 'B2' }, metadata: { correlationId: 'c2' } }]);
    await store.append('order-1', [{ type: 'OrderPlaced', data: { cart: 1 }, metadata: { correlationId: 'c1', causationId: 'x' } }]);
    inspector = mountInspector(store, host);
    await inspector.ready;
    await until(() => expect($$('tr[data-position]').map((tr) => tr.dataset.position)).toEqual(['3', '2', '1']));

    click($('tr[data-position="1"]'));
    const detail = $('.detail');
    expect(detail.hidden).toBe(false);
    expect(detail.textContent).toContain('ItemAdded · #1');
    expect($('.event-data').textContent).toContain('"sku": "A1"');

    // New events show on the newest page.
    await store.append('cart-1', [{ type: 'ItemAdded', data: { sku: 'C3' }, metadata: { correlationId: 'c1' } }]);
    await until(() => expect($$('tr[data-position]')).toHaveLength(4));

    const link = [...detail.querySelectorAll('button')].find((b) => b.textContent === 'c1')!;
    click(link);
    await until(() => expect($$('tr[data-position]').map((tr) => tr.dataset.position)).toEqual(['4', '3', '1']));
    expect($('.pager').textContent).toContain('correlation c1');
  });

  it('shows a rebuild as a bar, from the progress the store reports', async () => {
    // The store's own progress feed, plus reports of a rebuild this test makes up.
    const listeners = new Set<(p: ProjectionProgress) => void>();
    const reporting: InspectedStore = {
      name: store.name,
      storage: store.storage,
      role: store.role,
      onRoleChange: (l) => store.onRoleChange(l),
      onCommit: (l) => store.onCommit(l),
      read: (f, p) => store.read(f, p),
      head: () => store.head(),
      query: (sql, params) => store.query(sql, params),
      watch: (sql, params, cb, o) => store.watch(sql, params, cb, o),
      projections: () => store.projections(),
      consumers: () => store.consumers(),
      deadLetters: (c) => store.deadLetters(c),
      sync: store.sync,
      estimate: () => store.estimate(),
      persist: () => store.persist(),
      onProjectionProgress: (listener) => {
        listeners.add(listener);
        return () => void listeners.delete(listener);
      },
    };
    inspector = mountInspector(reporting, host, { view: 'projections' });
    await inspector.ready;
    await until(() => expect($('tr[data-projection=totals]').dataset.state).toBe('ready'));
    const report = (p: Partial<ProjectionProgress>): void => {
      for (const l of listeners) l({ name: 'totals', version: 2, state: 'building', position: 0, head: 1000, ...p });
    };
    report({ position: 250 });
    await until(() => expect($<HTMLElement>('tr[data-projection=totals] .bar-fill').style.width).toBe('25.0%'));
    expect($('tr[data-projection=totals]').dataset.state).toBe('building');
    expect($('tr[data-projection=totals]').textContent).toContain('250 / 1000');
    report({ state: 'ready', position: 1000 });
    await until(() => expect($<HTMLElement>('tr[data-projection=totals] .bar-fill').style.width).toBe('100.0%'));
  });

  it("shows the origin's storage from store.estimate(), and asks for persistence with store.persist()", async () => {
    let persisted = false;
    const asked: string[] = [];
    const stub: InspectedStore = {
      ...(store as unknown as InspectedStore),
      name: store.name,
      storage: store.storage,
      role: store.role,
      onRoleChange: (l) => store.onRoleChange(l),
      onCommit: (l) => store.onCommit(l),
      head: () => store.head(),
      sync: store.sync,
      estimate: async () => ({ usage: 2048, quota: 1024 * 1024, persisted }),
      persist: async () => {
        asked.push('persist');
        persisted = true;
        return true;
      },
    };
    inspector = mountInspector(stub, host, { view: 'storage' });
    await inspector.ready;
    await until(() => expect($('.storage-view').textContent).toContain('2.0 KB used of 1.0 MB'));
    expect($('[data-persisted]').dataset.persisted).toBe('no');
    click($('[data-testid=persist]'));
    await until(() => expect($('[data-persisted]').dataset.persisted).toBe('yes'));
    expect(asked).toEqual(['persist']);
  });

  it('retries and discards the dead letters of the consumers registered with it', async () => {
    // happy-dom's navigator.locks never grants a lock: without it, the consumer takes the
    // in-process lock table, as in Node, and the inspector reads this tab's instance.
    const own = Object.getOwnPropertyDescriptor(navigator, 'locks');
    Object.defineProperty(navigator, 'locks', { value: undefined, configurable: true });
    onTestFinished(() => {
      delete (navigator as { locks?: unknown }).locks;
      if (own !== undefined) Object.defineProperty(navigator, 'locks', own);
    });
    let failing = true;
    const handled: number[] = [];
    const mailer = store.consumer(
      'mailer',
      {},
      (e) => {
        if (failing) throw new Error('mail server down');
        handled.push(e.position);
      },
      { retries: 0 },
    );
    await store.append('order-1', [{ type: 'OrderPlaced' }]);
    await store.append('order-2', [{ type: 'OrderPlaced' }]);
    await until(async () => expect(await store.deadLetters('mailer')).toHaveLength(2));
    inspector = mountInspector(store, host, { view: 'consumers' });
    await inspector.ready;
    await until(() => expect($$('tr[data-dead-letter]')).toHaveLength(2));
    // Not registered: the buttons say why they cannot work.
    expect($<HTMLButtonElement>('tr[data-dead-letter="mailer:1"] [data-action=retry]').disabled).toBe(true);
    inspector.register(mailer);
    await until(() => expect($<HTMLButtonElement>('tr[data-dead-letter="mailer:1"] [data-action=retry]').disabled).toBe(false));
    expect($('tr[data-consumer=mailer] td:nth-child(5)').textContent).toBe('2');

    failing = false;
    click($('tr[data-dead-letter="mailer:1"] [data-action=retry]'));
    await until(() => expect($('.action-result').dataset.outcome).toBe('ok'));
    await until(() => expect($$('tr[data-dead-letter]').map((tr) => tr.dataset.deadLetter)).toEqual(['mailer:2']));
    expect(handled).toEqual([1]);
    click($('tr[data-dead-letter="mailer:2"] [data-action=discard]'));
    await until(() => expect($$('tr[data-dead-letter]')).toHaveLength(0));
    expect(handled).toEqual([1]);
    await mailer.stop();
  });

  it('close() removes it and stops listening to the store', async () => {
    inspector = mountInspector(store, host);
    await inspector.ready;
    expect(host.querySelector('[data-cairn-inspector]')).not.toBeNull();
    inspector.close();
    expect(host.querySelector('[data-cairn-inspector]')).toBeNull();
    // Commits after closing reach nothing of it (nothing to throw on a removed view).
    await store.append('cart-9', [{ type: 'ItemAdded' }]);
  });
});
