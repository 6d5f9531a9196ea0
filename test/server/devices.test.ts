/**
 * Devices syncing through the server on a real PostgreSQL: in-process stores (Node) that
 * append offline, then converge; conflicts of one stream surfaced with both sides and
 * resolved both ways; `'any'` appends placed after the server's; projections equal to a
 * rebuild from the converged log; aggregates deciding refused commands again; a refused
 * token not retried in a loop; filters.
 *
 * "Offline" here is simply not syncing (`live: false`, and `sync.now()` called by hand), so
 * every interleaving is chosen by the test. A device is restarted by closing its store and
 * opening it again on the same SQLite connection.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { openStore, type Projection, type Store } from '../../src/client/index.ts';
import type { SqlDriver } from '../../src/core/driver.ts';
import { createSqliteWasmDriver } from '../../src/core/sqlite-wasm-driver.ts';
import { loadSqlite } from '../../src/core/sqlite-wasm.ts';
import { createDatabase, startServer, until, type Running } from './helpers.ts';

let server: Running;
const TOKEN = 'device-token';
let authorizations = 0;

beforeAll(async () => {
  server = await startServer({
    database: await createDatabase(),
    authorize: async (request) => {
      authorizations++;
      return request.token === TOKEN ? { tenant: 'shop' } : null;
    },
  });
});
afterAll(async () => server?.server.close());

/** Per cart: how many items; a primary key, so sync can undo its rows exactly. */
const cartItems: Projection = {
  name: 'cart_items',
  version: 1,
  setup: (db) => db.exec('CREATE TABLE cart_items (cart TEXT PRIMARY KEY, items INTEGER NOT NULL, last INTEGER NOT NULL)'),
  handle: (e, db) => {
    if (e.type !== 'ItemAdded') return;
    db.run('INSERT INTO cart_items VALUES (?, 1, ?) ON CONFLICT (cart) DO UPDATE SET items = items + 1, last = excluded.last', [e.stream, e.version]);
  },
};

/** A device: a store on a connection that outlives it, so it can be restarted. */
class Device {
  store!: Store;
  /** While false, the device's network is down: every request fails as fetch does offline. */
  online = true;
  readonly #driver: SqlDriver;
  readonly #options: Record<string, unknown>;
  constructor(driver: SqlDriver, readonly name: string, options: Record<string, unknown>) {
    this.#driver = driver;
    this.#options = options;
  }
  static async create(name: string, options: Record<string, unknown> = {}): Promise<Device> {
    const sqlite3 = await loadSqlite();
    const real = createSqliteWasmDriver(sqlite3, new sqlite3.oo1.DB(':memory:', 'c'));
    const device = new Device({ ...real, close: () => {} }, name, options);
    await device.open();
    return device;
  }
  async open(): Promise<void> {
    this.store = await openStore({
      name: this.name,
      driver: this.#driver,
      projections: [cartItems],
      ...this.#options,
      sync: {
        url: server.url,
        token: () => TOKEN,
        live: false,
        interval: 3_600_000,
        fetch: (input, init) => (this.online ? fetch(input, init) : Promise.reject(new TypeError('fetch failed: offline'))),
        ...(this.#options.sync as object | undefined),
      },
    });
  }
  async restart(): Promise<void> {
    await this.store.close();
    await this.open();
  }
  /** Every stream's events as [stream, version, type, data], by stream then version. */
  async log(): Promise<[string, number, string, unknown][]> {
    const out: [string, number, string, unknown][] = [];
    for await (const e of this.store.events()) out.push([e.stream, e.version, e.type, e.data]);
    return out.sort((a, b) => (a[0] < b[0] ? -1 : a[0] > b[0] ? 1 : a[1] - b[1]));
  }
  projection(): Promise<unknown[]> {
    return this.store.query('SELECT cart, items, last FROM cart_items ORDER BY cart');
  }
}

let n = 0;
const fresh = (prefix: string) => `${prefix}-${n++}-${Date.now()}`;

describe('devices syncing through the server', () => {
  it('appends offline on two devices, then both converge at the server versions', async () => {
    const a = await Device.create(fresh('a'));
    const b = await Device.create(fresh('b'));
    const s = fresh('cart');
    a.online = b.online = false;
    await a.store.append(`${s}`, [{ type: 'ItemAdded', data: { sku: 'A' } }]);
    await b.store.append(`${s}-b`, [{ type: 'ItemAdded', data: { sku: 'B' } }]);
    await expect(a.store.sync.now()).rejects.toMatchObject({ code: 'SYNC_UNAVAILABLE' });
    expect(a.store.sync.status).toMatchObject({ state: 'offline', pending: 1 });
    expect((await a.store.readStream(s))[0]!.serverPosition).toBeNull();
    a.online = true;
    await a.store.sync.now(); // first: b's retries wait for its network
    b.online = true;
    await b.store.sync.now();
    await a.store.sync.now();
    expect(await a.log()).toEqual(await b.log());
    expect((await a.log()).filter((r) => r[0].startsWith(s)).map((r) => r[0])).toEqual([s, `${s}-b`]);
    expect(a.store.sync.status).toMatchObject({ state: 'idle', pending: 0 });
    const [mine] = await a.store.readStream(s);
    expect(mine!.serverPosition).toEqual(expect.any(Number));
    expect(await a.projection()).toEqual(await b.projection());
  });

  it('pushes more pending events than one push may carry in several pushes, and a lone appendMany past that limit whole', async () => {
    const a = await Device.create(fresh('a'));
    const b = await Device.create(fresh('b'));
    const s = fresh('bulk');
    a.online = false;
    // 13,000 events in 26 appends: more than a push of several batches may carry (10,000).
    for (let i = 0; i < 26; i++) await a.store.append(`${s}-${i % 3}`, Array.from({ length: 500 }, (_, j) => ({ type: 'Bulk', data: { i, j } })));
    // And one call over two streams, 12,000 events, that must reach the server as one.
    await a.store.appendMany([0, 1].map((k) => ({ stream: `${s}-many-${k}`, events: Array.from({ length: 6_000 }, (_, j) => ({ type: 'Bulk', data: { k, j } })) })));
    await until(() => a.store.sync.status.pending === 27);
    a.online = true;
    await a.store.sync.now();
    expect(a.store.sync.status).toMatchObject({ state: 'idle', pending: 0 });
    await b.store.sync.now();
    const mine = (await b.log()).filter((r) => r[0].startsWith(s));
    expect(mine.length).toBe(25_000);
    expect(await b.log()).toEqual(await a.log());
  }, 60_000);

  it("places 'any' appends after the server's events, and every device ends at the same versions", async () => {
    const a = await Device.create(fresh('a'));
    const b = await Device.create(fresh('b'));
    const s = fresh('cart');
    a.online = b.online = false;
    await a.store.append(s, [{ type: 'ItemAdded', data: 'a1' }, { type: 'ItemAdded', data: 'a2' }]);
    await b.store.append(s, [{ type: 'ItemAdded', data: 'b1' }]);
    a.online = true;
    await a.store.sync.now(); // first: b's retries wait for its network
    b.online = true;
    await b.store.sync.now(); // pulls a1, a2 first: b1 moves after them, to version 3
    await a.store.sync.now();
    const logA = await a.log();
    expect(logA).toEqual(await b.log());
    expect(logA.filter((r) => r[0] === s).map((r) => [r[1], r[3]])).toEqual([[1, 'a1'], [2, 'a2'], [3, 'b1']]);
    expect(await b.store.sync.conflicts()).toEqual([]);
    // The projection of the device that moved its event equals that of one that never had to.
    expect(await b.projection()).toEqual(await a.projection());
    expect((await a.projection()).filter((r) => (r as { cart: string }).cart === s)).toEqual([{ cart: s, items: 3, last: 3 }]);
  });

  it('surfaces a conflict of one stream with both sides, keeps the other streams, and rebases it', async () => {
    const a = await Device.create(fresh('a'));
    const b = await Device.create(fresh('b'));
    const s = fresh('cart');
    const other = fresh('cart');
    await a.store.append(s, [{ type: 'ItemAdded', data: 'base' }]);
    await a.store.sync.now();
    await b.store.sync.now();
    // Both decide on version 1, offline.
    a.online = b.online = false;
    await a.store.append(s, [{ type: 'ItemAdded', data: 'from a' }], { expectedVersion: 1 });
    await b.store.append(s, [{ type: 'ItemAdded', data: 'from b' }], { expectedVersion: 1 });
    await b.store.append(other, [{ type: 'ItemAdded', data: 'elsewhere' }]);
    const announced = new Promise((resolve) => b.store.sync.onConflict(resolve));
    a.online = true;
    await a.store.sync.now(); // first: b's retries wait for its network
    b.online = true;
    await b.store.sync.now();
    const [conflict] = await b.store.sync.conflicts();
    expect(await announced).toHaveLength(1);
    expect(conflict).toMatchObject({ stream: s, expectedVersion: 1, serverVersion: 2, reason: 'conflict' });
    expect(conflict!.events.map((e) => e.data)).toEqual(['from b']);
    expect(conflict!.serverEvents.map((e) => [e.version, e.data])).toEqual([[2, 'from a']]);
    // The server's events won the stream; the other stream went through.
    expect((await b.store.readStream(s)).map((e) => e.data)).toEqual(['base', 'from a']);
    expect((await b.store.readStream(other)).map((e) => e.data)).toEqual(['elsewhere']);
    expect(b.store.sync.status.pending).toBe(0);
    expect(await b.projection()).toEqual(await rebuilt(b));

    const [result] = await b.store.sync.resolve(conflict!.id, 'rebase');
    expect(result).toMatchObject({ stream: s, version: 3 });
    expect(await b.store.sync.conflicts()).toEqual([]);
    await b.store.sync.now();
    await a.store.sync.now();
    expect((await a.store.readStream(s)).map((e) => [e.version, e.data])).toEqual([[1, 'base'], [2, 'from a'], [3, 'from b']]);
    expect(await a.log()).toEqual(await b.log());
  });

  it('discards a conflict, and takes with it the later exact writes decided on top of it', async () => {
    const a = await Device.create(fresh('a'));
    const b = await Device.create(fresh('b'));
    const s = fresh('cart');
    a.online = b.online = false;
    await a.store.append(s, [{ type: 'ItemAdded', data: 'a' }], { expectedVersion: 'no_stream' });
    await b.store.append(s, [{ type: 'ItemAdded', data: 'b1' }], { expectedVersion: 'no_stream' });
    await b.store.append(s, [{ type: 'ItemAdded', data: 'b2' }], { expectedVersion: 1 }); // on top of b1
    await b.store.append(s, [{ type: 'ItemAdded', data: 'b3' }]); // 'any'
    a.online = true;
    await a.store.sync.now(); // first: b's retries wait for its network
    b.online = true;
    await b.store.sync.now();
    const conflicts = await b.store.sync.conflicts();
    expect(conflicts.map((c) => c.events.map((e) => e.data))).toEqual([['b1'], ['b2']]);
    await b.store.sync.now();
    expect((await b.store.readStream(s)).map((e) => [e.version, e.data])).toEqual([[1, 'a'], [2, 'b3']]);
    for (const c of conflicts) await b.store.sync.resolve(c.id, 'discard');
    expect(await b.store.sync.conflicts()).toEqual([]);
    await a.store.sync.now();
    expect(await a.log()).toEqual(await b.log());
    expect(await b.projection()).toEqual(await rebuilt(b));
  });

  it('keeps pending appends across a restart, and pushes each once', async () => {
    const a = await Device.create(fresh('a'));
    const b = await Device.create(fresh('b'));
    const s = fresh('cart');
    a.online = false;
    await a.store.append(s, [{ type: 'ItemAdded', data: 1 }]);
    await a.store.append(s, [{ type: 'ItemAdded', data: 2 }]);
    await a.restart();
    await expect(a.store.sync.now()).rejects.toMatchObject({ code: 'SYNC_UNAVAILABLE' });
    expect(a.store.sync.status.pending).toBe(2);
    a.online = true;
    await a.store.sync.now();
    await a.restart();
    await a.store.sync.now();
    await b.store.sync.now();
    expect((await b.store.readStream(s)).map((e) => e.data)).toEqual([1, 2]);
    expect(a.store.sync.status.pending).toBe(0);
  });

  it('turns a write to a stream the device may not write into a conflict, and pushes the writes around it', async () => {
    const guarded = await startServer({
      database: await createDatabase(),
      authorize: async (request) => (request.token === TOKEN ? { tenant: 'shop', canWrite: (stream) => !stream.startsWith('locked-') } : null),
    });
    try {
      const a = await Device.create(fresh('a'), { sync: { url: guarded.url } });
      const b = await Device.create(fresh('b'), { sync: { url: guarded.url } });
      const s = fresh('cart');
      const locked = fresh('locked-cart');
      a.online = false;
      await a.store.append(`${s}-1`, [{ type: 'ItemAdded', data: 'before' }]);
      await a.store.append(locked, [{ type: 'ItemAdded', data: 'refused' }]);
      for (let i = 2; i <= 6; i++) await a.store.append(`${s}-${i}`, [{ type: 'ItemAdded', data: `after ${i}` }]);
      const announced = new Promise<unknown[]>((resolve) => a.store.sync.onConflict(resolve));
      a.online = true;
      await a.store.sync.now();
      expect(a.store.sync.status).toMatchObject({ state: 'idle', pending: 0 });
      const [conflict, ...more] = await a.store.sync.conflicts();
      expect(more).toEqual([]);
      expect(await announced).toHaveLength(1);
      expect(conflict).toMatchObject({ stream: locked });
      expect(conflict!.reason).toMatch(new RegExp(`^rejected: SYNC_REJECTED: You may not write to stream "${locked}"`));
      expect(conflict!.events.map((e) => e.data)).toEqual(['refused']);
      expect(await a.store.readStream(locked)).toEqual([]);
      await b.store.sync.now();
      const seen = (await b.log()).filter((r) => r[0].startsWith(s) || r[0] === locked).map((r) => r[3]);
      expect(seen).toEqual(['before', 'after 2', 'after 3', 'after 4', 'after 5', 'after 6']);
      await a.store.sync.resolve(conflict!.id, 'discard');
      await a.store.sync.now();
      expect(await a.log()).toEqual(await b.log());
    } finally {
      await guarded.server.close();
    }
  });

  it('refuses a write too large for any push without sending it, as a conflict, and pushes the writes around it', async () => {
    const a = await Device.create(fresh('a'));
    const b = await Device.create(fresh('b'));
    const s = fresh('cart');
    const big = fresh('big');
    a.online = false;
    await a.store.append(`${s}-1`, [{ type: 'ItemAdded', data: 'before' }]);
    // Nine events of ~950 kB in one call: each is within maxEventBytes, together past the server's 8 MiB body limit.
    const blob = 'x'.repeat(950_000);
    await a.store.appendMany([{ stream: big, events: Array.from({ length: 9 }, (_, i) => ({ type: 'Blob', data: { i, blob } })) }]);
    await a.store.append(`${s}-2`, [{ type: 'ItemAdded', data: 'after' }]);
    a.online = true;
    await a.store.sync.now();
    expect(a.store.sync.status).toMatchObject({ state: 'idle', pending: 0 });
    const [conflict, ...more] = await a.store.sync.conflicts();
    expect(more).toEqual([]);
    expect(conflict).toMatchObject({ stream: big });
    expect(conflict!.reason).toMatch(/^rejected: SYNC_REJECTED: This write is \d+ bytes as a push, more than the sync server takes in one \(8388608\)/);
    expect(conflict!.events).toHaveLength(9);
    await b.store.sync.now();
    expect((await b.log()).filter((r) => r[0].startsWith(s) || r[0] === big).map((r) => r[3])).toEqual(['before', 'after']);
  }, 60_000);

  it('decides a refused aggregate command again on the server state, when the aggregate asks to', async () => {
    const a = await Device.create(fresh('a'));
    const b = await Device.create(fresh('b'));
    const id = fresh('c');
    type Cart = { items: number };
    const definition = {
      category: 'cart',
      initialState: { items: 0 },
      evolve: (state: Cart, e: { type: string }) => (e.type === 'ItemAdded' ? { items: state.items + 1 } : state),
      decide: (command: { max: number }, state: Cart) => {
        if (state.items >= command.max) throw new Error('The cart is full');
        return [{ type: 'ItemAdded', data: { n: state.items + 1 } }];
      },
      onConflict: 'redecide' as const,
    };
    const cartsA = a.store.aggregate(definition);
    const cartsB = b.store.aggregate(definition);
    a.online = b.online = false;
    await cartsA.handle(id, { max: 5 }, { commandId: `${id}-a` });
    await cartsB.handle(id, { max: 5 }, { commandId: `${id}-b` });
    const redecided = new Promise<unknown>((resolve) => b.store.sync.onRedecided(resolve));
    a.online = true;
    await a.store.sync.now(); // first: b's retries wait for its network
    b.online = true;
    await b.store.sync.now();
    const outcome = (await redecided) as { events?: { data: unknown }[] };
    expect(outcome.events?.map((e) => e.data)).toEqual([{ n: 2 }]);
    expect(await b.store.sync.conflicts()).toEqual([]);
    await b.store.sync.now();
    await a.store.sync.now();
    expect((await cartsA.load(id)).state).toEqual({ items: 2 });
    expect(await a.log()).toEqual(await b.log());
  });

  it('reports a refused token as UNAUTHORIZED and does not retry it in a loop', async () => {
    let token = 'wrong';
    const d = await Device.create(fresh('d'), {
      sync: { token: () => token, interval: 100 },
    });
    await d.store.append(fresh('cart'), [{ type: 'ItemAdded' }]);
    await expect(d.store.sync.now()).rejects.toMatchObject({ code: 'UNAUTHORIZED' });
    expect(d.store.sync.status).toMatchObject({ state: 'error', error: { code: 'UNAUTHORIZED' } });
    const before = authorizations;
    await new Promise((r) => setTimeout(r, 500));
    expect(authorizations - before).toBeLessThanOrEqual(1);
    token = TOKEN;
    await d.store.sync.now();
    expect(d.store.sync.status).toMatchObject({ state: 'idle', pending: 0 });
  });

  it("runs a device's watches after its own synced appends and after pulled events", async () => {
    const a = await Device.create(fresh('a'));
    const b = await Device.create(fresh('b'));
    const s = fresh('cart');
    const seenA: unknown[] = [];
    const seenB: unknown[] = [];
    a.store.watch('SELECT items FROM cart_items WHERE cart = ?', [s], (rows) => void seenA.push(rows));
    b.store.watch('SELECT items FROM cart_items WHERE cart = ?', [s], (rows) => void seenB.push(rows));
    await a.store.append(s, [{ type: 'ItemAdded' }]);
    await a.store.sync.now();
    await b.store.sync.now();
    await until(() => seenA.length >= 2 && seenB.length >= 2);
    expect(seenA.at(-1)).toEqual([{ items: 1 }]);
    expect(seenB.at(-1)).toEqual([{ items: 1 }]);
  });

  it('syncs only the categories of its filter, and keeps the rest local', async () => {
    const a = await Device.create(fresh('a'));
    const f = await Device.create(fresh('f'), {
      sync: { filter: { categories: ['order'] } },
    });
    const order = `order-${n++}`;
    const cart = fresh('cart');
    await a.store.append(order, [{ type: 'Placed' }]);
    await a.store.append(cart, [{ type: 'ItemAdded' }]);
    await a.store.sync.now();
    await f.store.append(`note-${n++}`, [{ type: 'Written' }]);
    await f.store.sync.now();
    const streams = (await f.log()).map((r) => r[0]);
    expect(streams).toContain(order);
    expect(streams).not.toContain(cart);
    expect(f.store.sync.status.pending).toBe(0);
    await a.store.sync.now();
    expect((await a.log()).some((r) => r[0].startsWith('note-'))).toBe(false);
  });
});

/** The device's projection as a rebuild from its log gives it: a new device that pulls everything. */
async function rebuilt(device: Device): Promise<unknown[]> {
  const copy = await Device.create(fresh('copy'));
  await copy.store.sync.now();
  const rows = await copy.projection();
  // The copy has every stream of the tenant; keep those the device has.
  const mine = new Set((await device.projection()).map((r) => (r as { cart: string }).cart));
  return rows.filter((r) => mine.has((r as { cart: string }).cart));
}
