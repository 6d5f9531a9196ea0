import { beforeEach, describe, expect, it } from 'vitest';
import { openStore, type Upcasters } from '../../src/client/index.ts';
import type { SqlDriver } from '../../src/core/driver.ts';
import { createSqliteWasmDriver } from '../../src/core/sqlite-wasm-driver.ts';
import { loadSqlite } from '../../src/core/sqlite-wasm.ts';

type Old = { amount: number };
const upcasters: Upcasters = {
  // v1 {amount} → v2 {amount: {value, currency}} → v3 adds a note.
  PriceSet: {
    1: (d) => ({ amount: { value: (d as Old).amount, currency: 'EUR' } }),
    2: (d) => ({ ...(d as object), note: '' }),
  },
  Broken: { 1: () => { throw new Error('bad shape'); } },
  Gappy: { 2: (d) => d },
};

let driver: SqlDriver;
beforeEach(async () => {
  const sqlite3 = await loadSqlite();
  const inner = createSqliteWasmDriver(sqlite3, new sqlite3.oo1.DB(':memory:', 'c'));
  // Several stores take turns on one database in these tests.
  driver = { ...inner, close() {} };
  const writer = await openStore({ name: 'old-code', driver });
  await writer.append('price-1', [{ type: 'PriceSet', data: { amount: 5 } }]);
  await writer.append('price-1', [{ type: 'PriceSet', data: { amount: { value: 7, currency: 'USD' } }, schemaVersion: 2 }]);
  await writer.close();
});

const latest = [
  { amount: { value: 5, currency: 'EUR' }, note: '' },
  { amount: { value: 7, currency: 'USD' }, note: '' },
];

describe('upcasting', () => {
  it('shows the latest shape through readStream, read, events and aggregates, without rewriting the log', async () => {
    const store = await openStore({ name: 'new-code', driver, upcasters });
    expect((await store.readStream('price-1')).map((e) => [e.data, e.schemaVersion])).toEqual(latest.map((d) => [d, 3]));
    expect((await store.read({ types: ['PriceSet'] })).edges.map((e) => e.node.data)).toEqual(latest);
    const iterated = [];
    for await (const e of store.events({ stream: 'price-1' })) iterated.push(e.data);
    expect(iterated).toEqual(latest);
    const prices = store.aggregate<unknown[], never>({
      category: 'price',
      initialState: [],
      evolve: (s, e) => [...s, e.data],
      decide: () => [],
    });
    expect((await prices.load('1')).state).toEqual(latest);
    // The stored rows are untouched.
    expect(driver.all('SELECT schema_version AS v, data FROM events ORDER BY position')).toEqual([
      { v: 1, data: '{"amount":5}' },
      { v: 2, data: '{"amount":{"value":7,"currency":"USD"}}' },
    ]);
  });

  it('shows the latest shape to subscriptions, durable consumers and projections', async () => {
    const store = await openStore({
      name: 'new-code',
      driver,
      upcasters,
      projections: [
        {
          name: 'prices',
          version: 1,
          setup: (db) => db.exec('CREATE TABLE prices (position INTEGER PRIMARY KEY, currency TEXT, note TEXT)'),
          handle: (e, db) => {
            const d = e.data as { amount: { currency: string }; note: string };
            db.run('INSERT INTO prices VALUES (?, ?, ?)', [e.position, d.amount.currency, d.note]);
          },
        },
      ],
    });
    const subscribed: unknown[] = [];
    const sub = store.subscribe({ types: ['PriceSet'] }, (e) => void subscribed.push(e.data));
    const consumed: unknown[] = [];
    const consumer = store.consumer('prices', { types: ['PriceSet'] }, (e) => void consumed.push(e.data));
    while (subscribed.length < 2 || consumed.length < 2) await new Promise((r) => setTimeout(r, 5));
    sub.close();
    await consumer.stop();
    expect(subscribed).toEqual(latest);
    expect(consumed).toEqual(latest);
    // The projection was built from the log, through the same upcasters.
    while ((await store.projections())[0]?.state !== 'ready') await new Promise((r) => setTimeout(r, 5));
    expect(await store.query('SELECT currency, note FROM prices ORDER BY position')).toEqual([
      { currency: 'EUR', note: '' },
      { currency: 'USD', note: '' },
    ]);
    await store.close();
  });

  it('writes new events at the latest schema version of their type', async () => {
    const store = await openStore({ name: 'new-code', driver, upcasters });
    const written = { amount: { value: 9, currency: 'EUR' }, note: 'new' };
    await store.append('price-2', [{ type: 'PriceSet', data: written }, { type: 'Other' }]);
    const events = await store.readStream('price-2');
    expect(events.map((e) => [e.data, e.schemaVersion])).toEqual([[written, 3], [null, 1]]);
  });

  it('fails a read with UPCAST_FAILED when no upcaster covers a stored version, unless told to skip', async () => {
    const writer = await openStore({ name: 'old-code', driver });
    await writer.append('gap-1', [{ type: 'Gappy', data: 1 }, { type: 'Fine', data: 2 }]);
    await writer.append('broken-1', [{ type: 'Broken', data: 1 }]);
    const strict = await openStore({ name: 'new-code', driver, upcasters });
    const error = await strict.readStream('gap-1').catch((e: unknown) => e);
    expect(error).toMatchObject({ code: 'UPCAST_FAILED', type: 'Gappy', schemaVersion: 1 });
    expect((error as Error).message).toMatch(/no upcaster from version 1.*upcasters\["Gappy"\]\[1\]/);
    await expect(strict.readStream('broken-1')).rejects.toMatchObject({ code: 'UPCAST_FAILED', message: /bad shape/ });

    const lenient = await openStore({ name: 'new-code', driver, upcasters, unknownEvents: 'skip' });
    expect((await lenient.readStream('gap-1')).map((e) => e.type)).toEqual(['Fine']);
    const page = await lenient.read({ stream: 'gap-1' }, { first: 1 });
    // The skipped event still moves the cursor, so the next page goes on after it.
    expect(page.edges).toEqual([]);
    expect(page.pageInfo.hasNextPage).toBe(true);
    const next = await lenient.read({ stream: 'gap-1' }, { first: 1, after: page.pageInfo.endCursor! });
    expect(next.edges.map((e) => e.node.type)).toEqual(['Fine']);
  });
});
