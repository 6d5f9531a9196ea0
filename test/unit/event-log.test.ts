import { describe, expect, it } from 'vitest';
import { createEngine } from '../../src/core/engine.ts';
import { createIdFactory, encodeAppend } from '../../src/core/encode.ts';
import { loadSqlite } from '../../src/core/sqlite-wasm.ts';
import { createSqliteWasmDriver } from '../../src/core/sqlite-wasm-driver.ts';

// Appends and reads pack their rows into one JSON text; these check that the packed paths
// store and return exactly what row-by-row statements do, and fall back when too big.
describe('event-log packed appends and reads', () => {
  async function engineWith(maxLength?: number) {
    const sqlite3 = await loadSqlite();
    const db = new sqlite3.oo1.DB(':memory:', 'c');
    if (maxLength !== undefined) sqlite3.capi.sqlite3_limit(db, sqlite3.capi.SQLITE_LIMIT_LENGTH, maxLength);
    return createEngine(createSqliteWasmDriver(sqlite3, db));
  }
  const nextId = createIdFactory();
  const events = (n: number, size: number) =>
    Array.from({ length: n }, (_, i) => ({
      type: i % 2 ? 'Odd' : 'Even',
      data: { i, text: 'é"\\\n\u2028'.padEnd(size, 'x') },
      ...(i % 3 === 0 ? { metadata: { correlationId: `c${i}` } } : {}),
    }));

  it('returns stored events field for field, in order both ways', async () => {
    const engine = await engineWith();
    await engine.append(encodeAppend('cart-1', events(5, 50), { routingKey: 'eu' }, nextId, 1 << 20));
    await engine.append(encodeAppend('other', events(3, 50), undefined, nextId, 1 << 20));
    const forward = await engine.read({}, { first: 100 });
    expect(forward.events.map((e) => e.position)).toEqual([1, 2, 3, 4, 5, 6, 7, 8]);
    const first = forward.events[0]!;
    expect(first).toEqual({
      id: first.id, stream: 'cart-1', category: 'cart', version: 1, position: 1, type: 'Even',
      data: JSON.stringify(events(1, 50)[0]!.data), metadata: '{"correlationId":"c0"}',
      routingKey: 'eu', timestamp: first.timestamp, schemaVersion: 1, serverPosition: null,
    });
    expect(forward.events[1]!.metadata).toBeNull();
    expect(forward.events[6]!.routingKey).toBeNull();
    const backward = await engine.readStream('cart-1', { direction: 'backward' });
    expect(backward.map((e) => e.version)).toEqual([5, 4, 3, 2, 1]);
    await engine.close();
  });

  it('falls back to column-by-column reads when a page is over SQLite’s string limit', async () => {
    const engine = await engineWith(20_000);
    await engine.append(encodeAppend('big', events(30, 2_000), undefined, nextId, 1 << 20));
    const page = await engine.read({}, { first: 30 });
    expect(page.events.map((e) => e.version)).toEqual(Array.from({ length: 30 }, (_, i) => i + 1));
    expect(JSON.parse(page.events[29]!.data)).toEqual(events(30, 2_000)[29]!.data);
    expect((await engine.readStream('big')).length).toBe(30);
    await engine.close();
  });

  it.each([undefined, 20_000])('answers an exact retry with expectedVersion any from the stored append (length limit %s)', async (limit) => {
    const engine = await engineWith(limit);
    const req = encodeAppend('pay-1', events(12, 2_000), undefined, nextId, 1 << 20);
    const first = await engine.append(req);
    expect(await engine.append(req)).toEqual(first);
    expect(await engine.head()).toBe(12);
    const clash = encodeAppend('pay-2', [{ type: 'X' }, { type: 'Y', id: req.events[3]!.id }], undefined, nextId, 1 << 20);
    await expect(engine.append(clash)).rejects.toMatchObject({ code: 'DUPLICATE_EVENT_ID', id: req.events[3]!.id });
    expect(await engine.head()).toBe(12);
    await engine.close();
  });
});
