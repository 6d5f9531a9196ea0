import { beforeEach, describe, expect, it } from 'vitest';
import { openStore, type AggregateDefinition, type Store } from '../../src/client/index.ts';
import type { SqlDriver } from '../../src/core/driver.ts';
import { createSqliteWasmDriver } from '../../src/core/sqlite-wasm-driver.ts';
import { loadSqlite } from '../../src/core/sqlite-wasm.ts';

type CartEvents = {
  ItemAdded: { sku: string; qty: number };
  ItemRemoved: { sku: string };
  CheckedOut: null;
};
type CartState = { items: Record<string, number>; checkedOut: boolean; seen: number };
type CartCommand = { kind: 'add'; sku: string; qty?: number } | { kind: 'remove'; sku: string } | { kind: 'checkout' };

class CartError extends Error {}

const cart: AggregateDefinition<CartState, CartCommand, CartEvents> = {
  category: 'cart',
  initialState: { items: {}, checkedOut: false, seen: 0 },
  evolve(state, event) {
    const items = { ...state.items };
    switch (event.type) {
      case 'ItemAdded':
        items[event.data.sku] = (items[event.data.sku] ?? 0) + event.data.qty;
        return { ...state, items, seen: state.seen + 1 };
      case 'ItemRemoved':
        delete items[event.data.sku];
        return { ...state, items, seen: state.seen + 1 };
      case 'CheckedOut':
        return { ...state, checkedOut: true, seen: state.seen + 1 };
    }
  },
  decide(command, state) {
    if (state.checkedOut) throw new CartError('This cart is already checked out');
    switch (command.kind) {
      case 'add':
        return [{ type: 'ItemAdded', data: { sku: command.sku, qty: command.qty ?? 1 } }];
      case 'remove':
        if (!(command.sku in state.items)) throw new CartError(`No ${command.sku} in the cart`);
        return [{ type: 'ItemRemoved', data: { sku: command.sku } }];
      case 'checkout':
        if (Object.keys(state.items).length === 0) throw new CartError('Nothing to check out');
        return [{ type: 'CheckedOut', data: null }];
    }
  },
};

let driver: SqlDriver;
let store: Store<CartEvents>;
let n = 0;
beforeEach(async () => {
  const sqlite3 = await loadSqlite();
  driver = createSqliteWasmDriver(sqlite3, new sqlite3.oo1.DB(':memory:', 'c'));
  store = await openStore<CartEvents>({ name: `agg-${n++}`, driver });
});

describe('aggregates', () => {
  it('decides, appends and returns the new state, version and events', async () => {
    const carts = store.aggregate(cart);
    const r1 = await carts.handle('1', { kind: 'add', sku: 'A1', qty: 2 });
    expect(r1.version).toBe(1);
    expect(r1.state.items).toEqual({ A1: 2 });
    expect(r1.events).toMatchObject([{ type: 'ItemAdded', data: { sku: 'A1', qty: 2 }, version: 1, position: 1 }]);
    const r2 = await carts.handle('1', { kind: 'checkout' });
    expect(r2).toMatchObject({ version: 2, state: { checkedOut: true } });
    expect(await carts.load('1')).toEqual({ state: r2.state, version: 2 });
    expect((await store.readStream('cart-1')).map((e) => e.type)).toEqual(['ItemAdded', 'CheckedOut']);
  });

  it('passes a domain error through with its own class and message, and writes nothing', async () => {
    const carts = store.aggregate(cart);
    const error = await carts.handle('2', { kind: 'checkout' }).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(CartError);
    expect((error as Error).message).toBe('Nothing to check out');
    expect(await store.head()).toBe(0);
  });

  it('settles 20 concurrent commands through conflict retries, ending in the sequential result', async () => {
    // Two aggregate objects, as two tabs would have: their calls race and conflict.
    const a = store.aggregate({ ...cart, retries: 40 });
    const b = store.aggregate({ ...cart, retries: 40 });
    const results = await Promise.all(
      Array.from({ length: 20 }, (_, i) => (i % 2 ? a : b).handle('3', { kind: 'add', sku: `S${i % 4}`, qty: i + 1 })),
    );
    const versions = results.map((r) => r.version).sort((x, y) => x - y);
    expect(versions).toEqual(Array.from({ length: 20 }, (_, i) => i + 1));
    const sequential: Record<string, number> = {};
    for (let i = 0; i < 20; i++) sequential[`S${i % 4}`] = (sequential[`S${i % 4}`] ?? 0) + i + 1;
    expect((await a.load('3')).state.items).toEqual(sequential);
    expect((await store.readStream('cart-3')).map((e) => e.version)).toEqual(versions);
  });

  it('gives up with VERSION_CONFLICT when retries run out', async () => {
    const carts = store.aggregate({ ...cart, retries: 0 });
    const other = store.aggregate({ ...cart, retries: 0 });
    const outcomes = await Promise.allSettled([
      carts.handle('4', { kind: 'add', sku: 'A' }),
      other.handle('4', { kind: 'add', sku: 'B' }),
    ]);
    expect(outcomes.map((o) => o.status).sort()).toEqual(['fulfilled', 'rejected']);
    const rejected = outcomes.find((o) => o.status === 'rejected') as PromiseRejectedResult;
    expect(rejected.reason).toMatchObject({ code: 'VERSION_CONFLICT', stream: 'cart-4' });
  });

  it('propagates correlation and causation ids into the events', async () => {
    const carts = store.aggregate(cart);
    await carts.handle('5', { kind: 'add', sku: 'A' }, { metadata: { correlationId: 'corr-1', causationId: 'evt-9', user: 'ann' } });
    await carts.handle('5', { kind: 'add', sku: 'B' }, { commandId: 'cmd-1', metadata: { correlationId: 'corr-1' } });
    const events = await store.readStream('cart-5');
    expect(events[0]!.metadata).toEqual({ correlationId: 'corr-1', causationId: 'evt-9', user: 'ann' });
    expect(events[1]!.metadata).toEqual({ correlationId: 'corr-1', causationId: 'cmd-1' });
  });

  it('handles the same commandId once: a replay appends nothing and returns the first events', async () => {
    const carts = store.aggregate(cart);
    const first = await carts.handle('6', { kind: 'add', sku: 'A' }, { commandId: '01J0000000000000000000000X' });
    await carts.handle('6', { kind: 'checkout' });
    // Replayed after the cart moved on: deciding again would throw, but it is recognised first.
    const replay = await carts.handle('6', { kind: 'add', sku: 'A' }, { commandId: '01J0000000000000000000000X' });
    expect(replay.events.map((e) => e.id)).toEqual(first.events.map((e) => e.id));
    expect(replay.version).toBe(2);
    expect((await store.readStream('cart-6')).length).toBe(2);
  });
});

describe('snapshots', () => {
  const snapshots = () => driver.all<{ stream: string; revision: number; version: number }>('SELECT stream, revision, version FROM snapshots');

  it('loads snapshot plus tail to the same state as a full replay', async () => {
    const snap = store.aggregate({ ...cart, snapshotEvery: 10 });
    const plain = store.aggregate(cart);
    for (let i = 0; i < 25; i++) await snap.handle('7', { kind: 'add', sku: `S${i % 3}`, qty: i });
    await new Promise((r) => setTimeout(r, 10));
    expect(snapshots()).toEqual([{ stream: 'cart-7', revision: 1, version: 20 }]);
    // Count the events each load folds: from the snapshot only the 5 after version 20.
    let evolved = 0;
    const counted = store.aggregate({ ...cart, snapshotEvery: 10, evolve: (state, event) => (evolved++, cart.evolve(state, event)) });
    const fromSnapshot = await counted.load('7');
    expect(evolved).toBe(5);
    expect(fromSnapshot).toEqual(await plain.load('7'));
    expect(fromSnapshot.version).toBe(25);
    evolved = 0;
    await store.aggregate({ ...cart, evolve: (state, event) => (evolved++, cart.evolve(state, event)) }).load('7');
    expect(evolved).toBe(25);
  });

  it('ignores and replaces old snapshots when the revision changes', async () => {
    const v1 = store.aggregate({ ...cart, snapshotEvery: 5 });
    for (let i = 0; i < 6; i++) await v1.handle('8', { kind: 'add', sku: 'A' });
    await new Promise((r) => setTimeout(r, 10));
    // A snapshot made by different evolve code: revision 2 must not read it.
    driver.run("UPDATE snapshots SET state = '{\"items\":{\"WRONG\":1},\"checkedOut\":false,\"seen\":0}'");
    const v2 = store.aggregate({ ...cart, snapshotEvery: 5, revision: 2 });
    expect((await v2.load('8')).state.items).toEqual({ A: 6 });
    expect((await v1.load('8')).state.items).toEqual({ WRONG: 1, A: 1 });
    for (let i = 0; i < 4; i++) await v2.handle('8', { kind: 'add', sku: 'A' });
    await new Promise((r) => setTimeout(r, 10));
    expect(snapshots()).toEqual([{ stream: 'cart-8', revision: 2, version: 10 }]);
  });

  it('falls back to a full replay when a snapshot row is corrupt or ahead of the log', async () => {
    const carts = store.aggregate({ ...cart, snapshotEvery: 2 });
    for (let i = 0; i < 5; i++) await carts.handle('9', { kind: 'add', sku: 'A' });
    await new Promise((r) => setTimeout(r, 10));
    driver.run("UPDATE snapshots SET state = '{not json'");
    expect(await carts.load('9')).toMatchObject({ version: 5, state: { items: { A: 5 }, seen: 5 } });
    driver.run("UPDATE snapshots SET version = 99, state = '{}'");
    expect(await carts.load('9')).toMatchObject({ version: 5, state: { items: { A: 5 } } });
    expect((await carts.handle('9', { kind: 'add', sku: 'A' })).version).toBe(6);
  });
});
