/**
 * Sync on a store kept in IndexedDB (fake-indexeddb in Node), through the server on a real
 * PostgreSQL. In IndexedDB mode each write is recorded by a session of its own, and sync
 * records and undoes local writes with sessions too: both on one connection. A pull that
 * takes local writes out and places them again, a conflict, and a resolution must all be
 * in IndexedDB when they are acknowledged, so a reopened store finds exactly what it had.
 */
import 'fake-indexeddb/auto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { openStore, type Projection, type Store } from '../../src/client/index.ts';
import { createDatabase, startServer, type Running } from './helpers.ts';

let server: Running;
const TOKEN = 'idb-token';

beforeAll(async () => {
  server = await startServer({
    database: await createDatabase(),
    authorize: async (request) => (request.token === TOKEN ? { tenant: 'shop' } : null),
  });
});
afterAll(async () => server?.server.close());

const items: Projection = {
  name: 'items',
  version: 1,
  setup: (db) => db.exec('CREATE TABLE items (cart TEXT PRIMARY KEY, n INTEGER NOT NULL)'),
  handle: (e, db) => db.run('INSERT INTO items VALUES (?, 1) ON CONFLICT (cart) DO UPDATE SET n = n + 1', [e.stream]),
};

let n = 0;
const fresh = (prefix: string) => `${prefix}-${n++}-${Date.now()}`;

/** A store that syncs by hand only, on IndexedDB or memory, whose network can be cut. */
async function device(name: string, storage: 'indexeddb' | 'memory', net: { online: boolean }): Promise<Store> {
  return openStore({
    name,
    storage,
    projections: [items],
    sync: {
      url: server.url,
      token: () => TOKEN,
      live: false,
      interval: 3_600_000,
      fetch: (input, init) => (net.online ? fetch(input, init) : Promise.reject(new TypeError('fetch failed: offline'))),
    },
  });
}

async function log(store: Store, prefix: string): Promise<string[]> {
  const out: string[] = [];
  for await (const e of store.events()) if (e.stream.startsWith(prefix)) out.push(`${e.stream}@${e.version}:${String(e.data)}:${e.serverPosition === null ? 'local' : 'server'}`);
  return out.sort();
}

describe('sync on IndexedDB', () => {
  it('keeps what a pull moved, a conflict and its resolution across a reopen from IndexedDB', async () => {
    const name = fresh('idb-device');
    const prefix = fresh('cart');
    const [exact, any] = [`${prefix}-exact`, `${prefix}-any`];
    const netA = { online: false };
    const netB = { online: false };
    let a = await device(name, 'indexeddb', netA);
    expect(a.storage).toBe('indexeddb');
    const b = await device(fresh('mem-device'), 'memory', netB);
    // Offline on both: a conflicting exact write and an 'any' write that must move.
    await a.append(exact, [{ type: 'ItemAdded', data: 'a' }], { expectedVersion: 'no_stream' });
    await a.append(any, [{ type: 'ItemAdded', data: 'a-any' }]);
    await b.append(exact, [{ type: 'ItemAdded', data: 'b' }], { expectedVersion: 'no_stream' });
    await b.append(any, [{ type: 'ItemAdded', data: 'b-any' }]);
    netB.online = true;
    await b.sync.now();
    netA.online = true;
    await a.sync.now(); // takes both local writes out, puts b's in, places a-any again, keeps a's exact write as a conflict
    const before = await log(a, prefix);
    expect(before).toEqual([`${any}@1:b-any:server`, `${any}@2:a-any:server`, `${exact}@1:b:server`]);
    const conflicts = await a.sync.conflicts();
    expect(conflicts.map((c) => [c.stream, c.events.map((e) => e.data)])).toEqual([[exact, ['a']]]);
    const projection = await a.query('SELECT cart, n FROM items WHERE cart LIKE ? ORDER BY cart', [`${prefix}%`]);
    expect(projection).toEqual([{ cart: any, n: 2 }, { cart: exact, n: 1 }]);

    await a.close();
    a = await device(name, 'indexeddb', netA);
    expect(await log(a, prefix)).toEqual(before);
    expect((await a.sync.conflicts()).map((c) => c.id)).toEqual(conflicts.map((c) => c.id));
    expect(await a.query('SELECT cart, n FROM items WHERE cart LIKE ? ORDER BY cart', [`${prefix}%`])).toEqual(projection);

    // Rebased after b's event, pushed, and still there after another reopen.
    await a.sync.resolve(conflicts[0]!.id, 'rebase');
    await a.sync.now();
    await a.close();
    a = await device(name, 'indexeddb', netA);
    await b.sync.now();
    const after = [`${any}@1:b-any:server`, `${any}@2:a-any:server`, `${exact}@1:b:server`, `${exact}@2:a:server`];
    expect(await log(a, prefix)).toEqual(after);
    expect(await log(b, prefix)).toEqual(after);
    expect(a.sync.status.pending).toBe(0);
    expect(await a.query('SELECT cart, n FROM items WHERE cart LIKE ? ORDER BY cart', [`${prefix}%`])).toEqual([
      { cart: any, n: 2 },
      { cart: exact, n: 2 },
    ]);
    await a.close();
    await b.close();
  });
});
