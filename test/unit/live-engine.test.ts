/**
 * Node-only checks of the pieces under the live features: the driver's read-only queries
 * and row tracking, the tables in commit notices, projections that fall behind or are
 * malformed, and the in-process consumer lock.
 */
import { describe, expect, it } from 'vitest';
import { isProjectionFailed, isReadOnlyQuery, openStore, type Projection } from '../../src/client/index.ts';
import { acquireLock } from '../../src/client/locks.ts';
import type { Backend } from '../../src/client/ports.ts';
import { watch } from '../../src/client/watch.ts';
import type { SqlDriver } from '../../src/core/driver.ts';
import { createEngine, type CommitNotice } from '../../src/core/engine.ts';
import { encodeAppend, createIdFactory } from '../../src/core/encode.ts';
import { createSqliteWasmDriver } from '../../src/core/sqlite-wasm-driver.ts';
import { loadSqlite } from '../../src/core/sqlite-wasm.ts';

async function memoryDriver(): Promise<SqlDriver> {
  const sqlite3 = await loadSqlite();
  return createSqliteWasmDriver(sqlite3, new sqlite3.oo1.DB(':memory:', 'c'));
}

const nextId = createIdFactory();
const req = (stream: string, type: string, data: unknown = null) =>
  encodeAppend(stream, [{ type, data }], undefined, nextId, 1 << 20);

const counter: Projection = {
  name: 'counter',
  version: 1,
  setup: (db) => db.exec('CREATE TABLE counter (k TEXT PRIMARY KEY, n INTEGER NOT NULL) WITHOUT ROWID'),
  handle: (e, db) => void db.run('INSERT INTO counter VALUES (?, 1) ON CONFLICT (k) DO UPDATE SET n = n + 1', [e.type]),
};

describe('sqlite-wasm driver capabilities', () => {
  it('reports the tables a query reads, through views too', async () => {
    const db = await memoryDriver();
    db.exec('CREATE TABLE a (x); CREATE TABLE b (y); CREATE VIEW v AS SELECT x FROM a JOIN b ON x = y;');
    expect(db.query!('SELECT count(*) FROM a').tables).toEqual(['a']);
    // The view is reported as read, and so are the tables under it, which are what commits write.
    expect(db.query!('SELECT * FROM v').tables.sort()).toEqual(['a', 'b', 'v']);
    expect(db.query!('SELECT 1').tables).toEqual([]);
    db.close();
  });

  it('reports every row change by table, WITHOUT ROWID tables and a DELETE of every row included', async () => {
    const db = await memoryDriver();
    const seen: string[] = [];
    const stop = db.onRowChange!((t) => seen.push(t));
    db.exec('CREATE TABLE r (x); CREATE TABLE w (k PRIMARY KEY, v) WITHOUT ROWID;');
    db.run('INSERT INTO r VALUES (1)');
    db.run("INSERT INTO w VALUES ('a', 1)");
    db.run('DELETE FROM r');
    stop();
    db.run('INSERT INTO r VALUES (2)');
    expect(seen).toEqual(['r', 'w', 'r']);
    db.close();
  });

  it('refuses writes without preparing them twice into the cache, and keeps serving reads', async () => {
    const db = await memoryDriver();
    db.exec('CREATE TABLE t (x)');
    for (let i = 0; i < 3; i++) expect(() => db.query!('INSERT INTO t VALUES (1)')).toThrow(/refused/);
    expect(db.query!('SELECT count(*) AS n FROM t').rows).toEqual([{ n: 0 }]);
    // A schema change is seen by a cached query.
    db.exec('DROP TABLE t; CREATE TABLE t (x, y)');
    db.run('INSERT INTO t VALUES (1, 2)');
    expect(db.query!('SELECT count(*) AS n FROM t').rows).toEqual([{ n: 1 }]);
    db.close();
  });
});

describe('engine', () => {
  it('names the tables each commit wrote in its notice', async () => {
    const engine = createEngine(await memoryDriver(), { projections: [counter] });
    const notices: CommitNotice[] = [];
    engine.onCommit((n) => notices.push(n));
    await engine.append(req('a-1', 'X'));
    await engine.openConsumer('c', 'start');
    await engine.advanceConsumer('c', 1, { position: 1, eventId: 'x', error: 'e', attempts: 1 });
    expect(notices.map((n) => [n.head, [...n.tables].sort()])).toEqual([
      [1, ['cairn_projections', 'counter', 'events']],
      [1, ['cairn_consumers']],
      [1, ['cairn_consumers', 'cairn_dead_letters']],
    ]);
    expect(notices[0]).toMatchObject({ streams: ['a-1'], types: ['X'] });
    // A re-sent dead letter (say, after a handover) updates the one already recorded.
    await engine.advanceConsumer('c', 1, { position: 1, eventId: 'x', error: 'again', attempts: 4 });
    expect(await engine.deadLetters('c')).toEqual([expect.objectContaining({ position: 1, error: 'again', attempts: 4 })]);
    await engine.close();
  });

  it('rolls back only the append whose projection threw, inside one group commit', async () => {
    const drains: (() => void)[] = [];
    const picky: Projection = {
      ...counter,
      handle: (e, d) => {
        if (e.type === 'Poison') throw new Error('no');
        counter.handle(e, d);
      },
    };
    const engine = createEngine(await memoryDriver(), { projections: [picky], schedule: (fn) => drains.push(fn) });
    const results = Promise.allSettled([
      engine.append(req('a-1', 'X')),
      engine.append(encodeAppend('b-1', [{ type: 'X' }, { type: 'Poison' }], undefined, nextId, 1 << 20)),
      engine.append(req('c-1', 'X')),
    ]);
    await Promise.resolve();
    expect(drains).toHaveLength(1); // one drain, so one transaction for the three
    drains.shift()!();
    const [a, b, c] = await results;
    expect([a?.status, b?.status, c?.status]).toEqual(['fulfilled', 'rejected', 'fulfilled']);
    expect(isProjectionFailed(b?.status === 'rejected' ? b.reason : undefined)).toBe(true);
    const read = engine.query('SELECT k, n FROM counter');
    const head = engine.head();
    drains.shift()!();
    expect((await read).rows).toEqual([{ k: 'X', n: 2 }]);
    expect(await head).toBe(2);
    await engine.close();
  });

  it('lets an append through after at most one rebuild batch', async () => {
    const db = await memoryDriver();
    const keep = { ...db, close: () => {} };
    let engine = createEngine(keep);
    await engine.appendMany(Array.from({ length: 50 }, (_, i) => req(`s-${i}`, 'X')));
    await engine.close();
    const drains: (() => void)[] = [];
    engine = createEngine(keep, { projections: [counter], rebuildBatchSize: 5, schedule: (fn) => drains.push(fn) });
    const appended = engine.append(req('late-1', 'Y'));
    const status = engine.projections();
    // The first batch and the append share the first drain.
    drains.shift()!();
    expect(await appended).toMatchObject({ position: 51 });
    expect(await status).toEqual([expect.objectContaining({ state: 'building', position: 5 })]);
    // Drain until the rebuild is done: every event counted once, the late one included.
    let ready = false;
    while (!ready) {
      const s = engine.projections();
      while (drains.length > 0) drains.shift()!();
      ready = (await s)[0]?.state === 'ready';
      await new Promise((r) => setTimeout(r, 0));
    }
    const rows = engine.query('SELECT k, n FROM counter ORDER BY k');
    drains.shift()!();
    expect((await rows).rows).toEqual([
      { k: 'X', n: 50 },
      { k: 'Y', n: 1 },
    ]);
    await engine.close();
    db.close();
  });

  it('catches a ready projection up after a worker ran without it', async () => {
    const db = await memoryDriver();
    const keep = { ...db, close: () => {} };
    let engine = createEngine(keep, { projections: [counter] });
    await engine.append(req('a-1', 'X'));
    await engine.close();
    engine = createEngine(keep); // no projections: the counter falls behind
    await engine.append(req('a-1', 'X'));
    await engine.append(req('a-1', 'Y'));
    await engine.close();
    engine = createEngine(keep, { projections: [counter] });
    const progress: string[] = [];
    engine.onProjectionProgress((p) => progress.push(`${p.state}@${p.position}`));
    await until(async () => (await engine.projections())[0]?.state === 'ready');
    expect(progress).toEqual(['ready@3']);
    expect((await engine.query('SELECT k, n FROM counter ORDER BY k')).rows).toEqual([
      { k: 'X', n: 2 },
      { k: 'Y', n: 1 },
    ]);
    await engine.close();
    db.close();
  });

  it('reports a projection whose rebuild throws as failed, and keeps appending', async () => {
    const db = await memoryDriver();
    const keep = { ...db, close: () => {} };
    let engine = createEngine(keep);
    await engine.append(req('a-1', 'Boom'));
    await engine.close();
    const fragile: Projection = {
      ...counter,
      handle: (e, d) => {
        if (e.type === 'Boom') throw new Error('boom');
        counter.handle(e, d);
      },
    };
    engine = createEngine(keep, { projections: [fragile] });
    await until(async () => (await engine.projections())[0]?.state === 'failed');
    const [status] = await engine.projections();
    expect(status).toMatchObject({ name: 'counter', state: 'failed', position: 0 });
    expect(status?.error).toMatch(/boom/);
    // A failed projection is skipped: appends go on.
    await expect(engine.append(req('a-1', 'Fine'))).resolves.toMatchObject({ position: 2 });
    await engine.close();
    db.close();
  });

  it('fails to open on a setup that throws, and rejects a handler that returns a promise', async () => {
    const broken: Projection = { ...counter, setup: () => { throw new Error('no tables today'); } };
    const setupError = await openStore({ name: 'broken', projections: [broken] }).catch((e: unknown) => e);
    expect(isProjectionFailed(setupError)).toBe(true);
    const asyncHandler: Projection = { ...counter, handle: async () => {} };
    const store = await openStore({ name: 'async', projections: [asyncHandler] });
    const e = await store.append('a-1', [{ type: 'X' }]).catch((x: unknown) => x);
    expect(isProjectionFailed(e)).toBe(true);
    expect(String((e as Error).message)).toMatch(/synchronous/);
    expect(await store.head()).toBe(0);
    await store.close();
  });

  it('refuses a query that writes even behind a CTE', async () => {
    const store = await openStore({ name: 'ro', projections: [counter] });
    const e = await store.query("WITH x AS (SELECT 1) DELETE FROM counter WHERE k IN (SELECT 'a' FROM x)").catch((x: unknown) => x);
    expect(isReadOnlyQuery(e)).toBe(true);
    await store.close();
  });
});

describe('watch', () => {
  it('runs again for a notice naming one of its tables or the wildcard, and not for others', async () => {
    const listeners = new Set<(n: CommitNotice) => void>();
    const feed = (l: (n: CommitNotice) => void) => {
      listeners.add(l);
      return () => listeners.delete(l);
    };
    const notify = (tables: string[]) => {
      for (const l of listeners) l({ head: 1, streams: [], types: [], tables, commitMs: 0, transactions: 1 });
    };
    let runs = 0;
    const backend = { query: async () => ({ rows: [{ run: ++runs }], tables: ['a'] }) } as unknown as Backend;
    const calls: unknown[] = [];
    const w = watch(backend, feed, new AbortController().signal, 'SELECT', [], (rows) => void calls.push(rows));
    await until(async () => calls.length === 1);
    notify(['b']);
    notify(['a']);
    await until(async () => calls.length === 2);
    notify(['*']);
    await until(async () => calls.length === 3);
    w.close();
    await w.done;
    notify(['a']);
    expect(calls).toEqual([[{ run: 1 }], [{ run: 2 }], [{ run: 3 }]]);
    expect(listeners.size).toBe(0);
  });
});

describe('in-process consumer lock', () => {
  it('queues holders in order and passes the lock on when a waiter gives up', async () => {
    const order: string[] = [];
    const never = new AbortController();
    const first = await acquireLock('t', never.signal);
    const quitter = new AbortController();
    const second = acquireLock('t', quitter.signal);
    const third = acquireLock('t', never.signal).then((release) => {
      order.push('third');
      return release;
    });
    quitter.abort();
    expect(await second).toBeUndefined();
    order.push('first releases');
    first!();
    (await third)!();
    expect(order).toEqual(['first releases', 'third']);
  });
});

async function until(check: () => Promise<boolean>): Promise<void> {
  while (!(await check())) await new Promise((r) => setTimeout(r, 2));
}
