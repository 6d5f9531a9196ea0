// @vitest-environment happy-dom
/**
 * The React bindings against the in-process store (sqlite-wasm in memory), rendered with
 * @testing-library/react in happy-dom: Suspense and error boundaries, re-renders only for
 * commits that wrote what a query reads, one watch per query however many components show
 * it, streams, and aggregates handled from a component and from elsewhere.
 */
import { act, cleanup, render, screen, waitFor } from '@testing-library/react';
import { Component, createElement as e, StrictMode, Suspense, type ReactNode } from 'react';
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { openStore, type AggregateDefinition, type Projection, type Store } from '../../src/client/index.ts';
import { createSqliteWasmDriver } from '../../src/core/sqlite-wasm-driver.ts';
import { loadSqlite } from '../../src/core/sqlite-wasm.ts';
import { CairnProvider, useAggregate, useQuery, useStore, useStream, useWatch } from '../../src/react/index.ts';
import { ERROR_HOLD_MS, IDLE_MS } from '../../src/react/live-resource.ts';

type Shop = { ItemAdded: { sku: string; qty: number }; Noted: { text: string }; CheckedOut: null };
type Cart = { items: Record<string, number>; done: boolean };
type CartCommand = { kind: 'add'; sku: string; qty: number } | { kind: 'checkout' };

const cartTotals: Projection = {
  name: 'cart_totals',
  version: 1,
  setup: (db) => db.exec('CREATE TABLE cart_totals (id TEXT PRIMARY KEY, qty INTEGER NOT NULL)'),
  handle(event, db) {
    if (event.type !== 'ItemAdded') return;
    db.run('INSERT INTO cart_totals VALUES (?, ?) ON CONFLICT (id) DO UPDATE SET qty = qty + excluded.qty', [
      event.stream,
      (event.data as { qty: number }).qty,
    ]);
  },
};

const cart: AggregateDefinition<Cart, CartCommand, Shop> = {
  category: 'cart',
  initialState: () => ({ items: {}, done: false }),
  evolve(state, event) {
    if (event.type === 'ItemAdded') {
      const { sku, qty } = event.data;
      return { ...state, items: { ...state.items, [sku]: (state.items[sku] ?? 0) + qty } };
    }
    return event.type === 'CheckedOut' ? { ...state, done: true } : state;
  },
  decide(command, state) {
    if (state.done) throw new Error('checked out');
    return command.kind === 'add' ? [{ type: 'ItemAdded', data: { sku: command.sku, qty: command.qty } }] : [{ type: 'CheckedOut', data: null }];
  },
};

let store: Store<Shop>;
let n = 0;

beforeEach(async () => {
  const sqlite3 = await loadSqlite();
  // A driver of our own keeps the store in-process even though happy-dom looks like a page.
  const driver = createSqliteWasmDriver(sqlite3, new sqlite3.oo1.DB(':memory:', 'c'));
  store = await openStore<Shop>({ name: `react-${++n}`, driver, projections: [cartTotals] });
});

afterEach(async () => {
  cleanup();
  await store.close();
});

class Boundary extends Component<{ children?: ReactNode }, { error: unknown }> {
  override state = { error: undefined as unknown };
  static getDerivedStateFromError(error: unknown) {
    return { error };
  }
  override render(): ReactNode {
    const { error } = this.state;
    if (error === undefined) return this.props.children;
    return e('p', { 'data-testid': 'error' }, `${(error as { code?: string }).code ?? 'no code'}: ${(error as Error).message}`);
  }
}

function withStore(...children: ReactNode[]): ReactNode {
  return e(CairnProvider<Shop>, { store }, e(Boundary, null, e(Suspense, { fallback: e('p', { 'data-testid': 'loading' }, 'loading') }, ...children)));
}

const add = (id: string, qty: number) => store.append(`cart-${id}`, [{ type: 'ItemAdded', data: { sku: 'A1', qty } }]);

describe('useQuery', () => {
  it('suspends until the first rows, then re-renders after commits that write the tables it reads, and only those', async () => {
    await add('1', 2);
    let renders = 0;
    function Totals() {
      const rows = useQuery<{ id: string; qty: number }>('SELECT id, qty FROM cart_totals ORDER BY id');
      renders++;
      return e('p', { 'data-testid': 'totals' }, rows.map((r) => `${r.id}=${r.qty}`).join(','));
    }
    render(withStore(e(Totals)));
    expect(screen.getByTestId('loading')).toBeTruthy();
    expect((await screen.findByTestId('totals')).textContent).toBe('cart-1=2');
    const before = renders;

    // Only the events table changes: cart_totals ignores this type, so no re-render.
    await act(() => store.append('note-1', [{ type: 'Noted', data: { text: 'hi' } }]));
    await act(() => add('2', 5));
    await waitFor(() => expect(screen.getByTestId('totals').textContent).toBe('cart-1=2,cart-2=5'));
    expect(renders).toBe(before + 1);
  });

  it('shares one watch among the components that show the same query, whatever array holds the parameters', async () => {
    await add('1', 1);
    const watch = vi.spyOn(store, 'watch');
    function Qty({ label }: { label: string }) {
      const [row] = useQuery<{ qty: number }>('SELECT qty FROM cart_totals WHERE id = ?', ['cart-1']);
      return e('span', { 'data-testid': label }, String(row?.qty));
    }
    render(withStore(e(Qty, { label: 'a' }), e(Qty, { label: 'b' })));
    expect((await screen.findByTestId('a')).textContent).toBe('1');
    expect(screen.getByTestId('b').textContent).toBe('1');
    await act(() => add('1', 2));
    await waitFor(() => expect(screen.getByTestId('b').textContent).toBe('3'));
    expect(watch).toHaveBeenCalledTimes(1);
  });

  it('throws a query error, with its code, to the nearest error boundary', async () => {
    function Bad({ sql }: { sql: string }) {
      useQuery(sql);
      return e('p', null, 'rendered');
    }
    const quiet = vi.spyOn(console, 'error').mockImplementation(() => {});
    try {
      render(withStore(e(Bad, { sql: 'DELETE FROM events' })));
      expect((await screen.findByTestId('error')).textContent).toMatch(/^READ_ONLY_QUERY: /);
      cleanup();
      render(withStore(e(Bad, { sql: 'SELEC nothing' })));
      expect((await screen.findByTestId('error')).textContent).toMatch(/^INVALID_ARGUMENT: .*syntax error/);
    } finally {
      quiet.mockRestore();
    }
  });

  it('starts a failed query afresh when its error boundary retries', async () => {
    const watch = vi.spyOn(store, 'watch');
    let reset: (() => void) | undefined;
    class Retrying extends Boundary {
      override render(): ReactNode {
        reset = () => this.setState({ error: undefined });
        return super.render();
      }
    }
    function Bad() {
      useQuery('SELECT * FROM not_yet');
      return e('p', null, 'rendered');
    }
    const quiet = vi.spyOn(console, 'error').mockImplementation(() => {});
    try {
      render(e(CairnProvider<Shop>, { store }, e(Retrying, null, e(Suspense, { fallback: 'loading' }, e(Bad)))));
      await screen.findByTestId('error');
      expect(watch).toHaveBeenCalledTimes(1);
      // A person reads the error before pressing retry; the error is held that long for React's own re-render.
      await new Promise((resolve) => setTimeout(resolve, ERROR_HOLD_MS + 10));
      expect(watch).toHaveBeenCalledTimes(1);
      act(() => reset!());
      await screen.findByTestId('error');
      expect(watch).toHaveBeenCalledTimes(2);
    } finally {
      quiet.mockRestore();
    }
  });

  it('closes its watch once no component shows the query (after a grace period that StrictMode remounts fit in)', async () => {
    const watch = vi.spyOn(store, 'watch');
    function Count() {
      const [row] = useQuery<{ n: number }>('SELECT count(*) AS n FROM cart_totals');
      return e('p', { 'data-testid': 'count' }, String(row?.n));
    }
    const view = render(e(StrictMode, null, withStore(e(Count))));
    expect((await screen.findByTestId('count')).textContent).toBe('0');
    expect(watch).toHaveBeenCalledTimes(1);
    const w = watch.mock.results[0]!.value as { closed: boolean };
    expect(w.closed).toBe(false);
    view.unmount();
    await new Promise((r) => setTimeout(r, IDLE_MS + 200));
    expect(w.closed).toBe(true);
  });
});

describe('useWatch', () => {
  it('returns loading, then the rows, and keeps them current, without Suspense', async () => {
    const states: string[] = [];
    function Count() {
      const { rows, loading, error } = useWatch<{ n: number }>('SELECT coalesce(sum(qty), 0) AS n FROM cart_totals');
      const text = loading ? 'loading' : error !== undefined ? 'error' : String(rows?.[0]?.n);
      states.push(text);
      return e('p', { 'data-testid': 'sum' }, text);
    }
    render(e(CairnProvider<Shop>, { store }, e(Count)));
    expect(screen.getByTestId('sum').textContent).toBe('loading');
    await waitFor(() => expect(screen.getByTestId('sum').textContent).toBe('0'));
    await act(() => add('1', 4));
    await waitFor(() => expect(screen.getByTestId('sum').textContent).toBe('4'));
    expect(states).not.toContain('error');
  });

  it('returns an error instead of throwing it', async () => {
    function Bad() {
      const { error } = useWatch('SELECT * FROM no_such_table');
      return e('p', { 'data-testid': 'state' }, error === undefined ? 'fine' : (error as { code: string }).code);
    }
    render(e(CairnProvider<Shop>, { store }, e(Bad)));
    await waitFor(() => expect(screen.getByTestId('state').textContent).toBe('INVALID_ARGUMENT'));
  });
});

describe('useStream', () => {
  it('delivers the stored events, then each new one, keeping the newest `limit`', async () => {
    await add('1', 1);
    await add('2', 2);
    function Events() {
      const events = useStream<Shop>({ types: ['ItemAdded'] }, { limit: 3 });
      return e('p', { 'data-testid': 'events' }, events.map((ev) => `${ev.position}:${ev.stream}`).join(' '));
    }
    render(e(CairnProvider<Shop>, { store }, e(Events)));
    await waitFor(() => expect(screen.getByTestId('events').textContent).toBe('1:cart-1 2:cart-2'));
    await act(async () => {
      await store.append('note-1', [{ type: 'Noted', data: { text: 'skip me' } }]);
      await add('3', 3);
      await add('4', 4);
    });
    await waitFor(() => expect(screen.getByTestId('events').textContent).toBe('2:cart-2 4:cart-3 5:cart-4'));
  });

  it("with from: 'end', only what commits after it started", async () => {
    await add('1', 1);
    function Events() {
      const events = useStream({ category: 'cart' }, { from: 'end' });
      return e('p', { 'data-testid': 'events' }, `${events.length}:${events.map((ev) => ev.stream).join(',')}`);
    }
    render(e(CairnProvider<Shop>, { store }, e(Events)));
    // Give the subscription time to start, then append.
    await act(() => new Promise((r) => setTimeout(r, 50)));
    expect(screen.getByTestId('events').textContent).toBe('0:');
    await act(() => add('9', 1));
    await waitFor(() => expect(screen.getByTestId('events').textContent).toBe('1:cart-9'));
  });
});

describe('useAggregate', () => {
  it('suspends until loaded, handles commands, and follows commits made elsewhere', async () => {
    await store.aggregate(cart).handle('7', { kind: 'add', sku: 'B2', qty: 1 });
    let handle: ((c: CartCommand) => Promise<unknown>) | undefined;
    function CartView() {
      const agg = useAggregate(cart, '7');
      handle = agg.handle;
      return e('p', { 'data-testid': 'cart' }, `v${agg.version} ${JSON.stringify(agg.state.items)}${agg.state.done ? ' done' : ''}`);
    }
    render(withStore(e(CartView)));
    expect(screen.getByTestId('loading')).toBeTruthy();
    expect((await screen.findByTestId('cart')).textContent).toBe('v1 {"B2":1}');

    await act(async () => void (await handle!({ kind: 'add', sku: 'A1', qty: 2 })));
    expect(screen.getByTestId('cart').textContent).toBe('v2 {"B2":1,"A1":2}');

    // Another aggregate object (another component, another tab) moves the entity on.
    await act(() => store.aggregate(cart).handle('7', { kind: 'checkout' }));
    await waitFor(() => expect(screen.getByTestId('cart').textContent).toBe('v3 {"B2":1,"A1":2} done'));

    // A domain error reaches the caller, and the state stays.
    await expect(handle!({ kind: 'add', sku: 'C3', qty: 1 })).rejects.toThrow('checked out');
    expect(screen.getByTestId('cart').textContent).toBe('v3 {"B2":1,"A1":2} done');
  });
});

describe('useStore', () => {
  it('gives the provider’s store, and a clear error without a provider', async () => {
    function Name() {
      return e('p', { 'data-testid': 'name' }, useStore().name);
    }
    render(e(CairnProvider<Shop>, { store }, e(Name)));
    expect(screen.getByTestId('name').textContent).toBe(store.name);
    cleanup();
    const quiet = vi.spyOn(console, 'error').mockImplementation(() => {});
    try {
      render(e(Boundary, null, e(Name)));
      expect(screen.getByTestId('error').textContent).toMatch(/^INVALID_ARGUMENT: .*CairnProvider/);
    } finally {
      quiet.mockRestore();
    }
  });
});
