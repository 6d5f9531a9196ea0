/**
 * IndexedDB mode in Node, on fake-indexeddb (an in-memory IndexedDB): SQLite in memory,
 * every commit written to IndexedDB before it is acknowledged, images and the changes after
 * them replayed at open. The browser suites run the same mode on the real thing
 * (`test/storage/`); here failures can be injected at will.
 */
import 'fake-indexeddb/auto';
import type { Sqlite3Static } from '@sqlite.org/sqlite-wasm';
import { beforeAll, describe, expect, it } from 'vitest';
import { createIdFactory, encodeAppend } from '../../src/core/encode.ts';
import type { Projection } from '../../src/core/projection.ts';
import type { AppendRequest } from '../../src/core/records.ts';
import { loadSqlite } from '../../src/core/sqlite-wasm.ts';
import { openIndexedDbEngine, type IndexedDbEngine } from '../../src/storage/indexeddb.ts';

let sqlite3: Sqlite3Static;
beforeAll(async () => {
  sqlite3 = await loadSqlite();
});

const ids = createIdFactory();
const req = (stream: string, data: unknown = { n: 1 }, events = 1): AppendRequest =>
  encodeAppend(stream, Array.from({ length: events }, () => ({ type: 'E', data })), {}, ids, 16 << 20);

let n = 0;
const fresh = (): string => `idb-unit-${n++}`;

const counter: Projection = {
  name: 'counts',
  version: 1,
  setup: (db) => db.exec('CREATE TABLE counts (stream TEXT PRIMARY KEY, n INTEGER NOT NULL)'),
  handle: (e, db) => db.run('INSERT INTO counts VALUES (?, 1) ON CONFLICT (stream) DO UPDATE SET n = n + 1', [e.stream]),
};

function open(name: string, projections?: Projection[]): Promise<IndexedDbEngine> {
  return openIndexedDbEngine(sqlite3, name, 'strict', projections ? { projections } : {});
}

async function streams(e: IndexedDbEngine): Promise<string[]> {
  return (await e.engine.read({}, { first: 10_000 })).events.map((x) => `${x.stream}:${x.version}`);
}

/** Makes IndexedDB refuse every `put` whose value is larger than `bytes`, as a full origin would. */
function quota(bytes: number): () => void {
  const proto = IDBObjectStore.prototype;
  const put = proto.put;
  proto.put = function (this: IDBObjectStore, value: unknown, key?: IDBValidKey) {
    const size = Array.isArray(value) ? value.reduce((s: number, c: Uint8Array) => s + c.length, 0) : (value as Uint8Array).length ?? 0;
    if (size > bytes) throw new DOMException('No space available', 'QuotaExceededError');
    return put.call(this, value, key);
  } as typeof put;
  return () => void (proto.put = put);
}

describe('IndexedDB mode', () => {
  it('keeps every acknowledged append across a close and a reopen, projections and queries included', async () => {
    const name = fresh();
    let e = await open(name, [counter]);
    await Promise.all([e.engine.append(req('a')), e.engine.append(req('b')), e.engine.append(req('a'))]);
    await e.engine.appendMany([req('c'), req('a')]);
    await e.close();
    e = await open(name, [counter]);
    expect(await streams(e)).toEqual(['a:1', 'b:1', 'a:2', 'c:1', 'a:3']);
    const rows = await e.engine.query('SELECT stream, n FROM counts ORDER BY stream');
    expect(rows.rows).toEqual([{ stream: 'a', n: 3 }, { stream: 'b', n: 1 }, { stream: 'c', n: 1 }]);
    expect(e.store.opened.replayed).toBeGreaterThan(0);
    await e.close();
  });

  it('refuses the append that does not fit with QUOTA_EXCEEDED, commits the rest of its group, and keeps nothing of it', async () => {
    const name = fresh();
    const e = await open(name);
    await e.engine.append(req('before'));
    const restore = quota(100_000);
    const big = req('big', { pad: 'x'.repeat(200_000) });
    const outcomes = await Promise.allSettled([e.engine.append(req('s1')), e.engine.append(big), e.engine.append(req('s2'))]);
    restore();
    expect(outcomes.map((o) => o.status)).toEqual(['fulfilled', 'rejected', 'fulfilled']);
    expect((outcomes[1] as PromiseRejectedResult).reason).toMatchObject({ code: 'QUOTA_EXCEEDED' });
    expect(await streams(e)).toEqual(['before:1', 's1:1', 's2:1']);
    // Reads and smaller writes go on.
    expect((await e.engine.append(req('after'))).version).toBe(1);
    await e.close();
    const again = await open(name);
    expect(await streams(again)).toEqual(['before:1', 's1:1', 's2:1', 'after:1']);
    await again.close();
  });

  it('takes a lone commit that could not be written back out of memory, projection state included', async () => {
    const name = fresh();
    const e = await open(name, [counter]);
    await e.engine.append(req('p'));
    const restore = quota(0);
    await expect(e.engine.append(req('p'))).rejects.toMatchObject({ code: 'QUOTA_EXCEEDED' });
    restore();
    expect((await e.engine.query('SELECT n FROM counts')).rows).toEqual([{ n: 1 }]);
    expect((await e.engine.append(req('p'))).version).toBe(2);
    expect((await e.engine.query('SELECT n FROM counts')).rows).toEqual([{ n: 2 }]);
    await e.close();
  });

  it('writes images as the changes grow, so that opening replays only a short tail', async () => {
    const name = fresh();
    let e = await open(name);
    const pad = 'y'.repeat(20_000);
    for (let i = 0; i < 300; i++) await e.engine.append(req(`s-${i % 7}`, { i, pad }));
    await e.close();
    e = await open(name);
    expect(e.store.opened.imageBytes).toBeGreaterThan(3_000_000);
    expect(e.store.opened.replayed).toBeLessThan(150);
    const page = await e.engine.read({}, { first: 1000 });
    expect(page.events.map((x) => (JSON.parse(x.data) as { i: number }).i)).toEqual(Array.from({ length: 300 }, (_, i) => i));
    await e.close();
  });

  it('a new projection (a schema change) is written as an image and is there after reopening', async () => {
    const name = fresh();
    let e = await open(name);
    await e.engine.append(req('q'));
    await e.close();
    e = await open(name, [counter]);
    await expect.poll(async () => (await e.engine.projections())[0]?.state).toBe('ready');
    await e.close();
    e = await open(name, [counter]);
    expect((await e.engine.query('SELECT stream, n FROM counts')).rows).toEqual([{ stream: 'q', n: 1 }]);
    await e.close();
  });
});
