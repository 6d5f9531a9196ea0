/**
 * Inputs that hung, corrupted or silently dropped before, through the public API in Node
 * (and the engine's own API, which a worker's inbox exposes to any script of the origin).
 * Each must now be refused with its typed error, write nothing, and leave the store serving.
 */
import { afterEach, describe, expect, it } from 'vitest';
import { isCairnError, openStore, type Projection, type Store } from '../../src/client/index.ts';
import { createEngine, type Engine } from '../../src/core/engine.ts';
import { createIdFactory, encodeAppend } from '../../src/core/encode.ts';
import { encodeCursor } from '../../src/core/cursor.ts';
import { createSqliteWasmDriver } from '../../src/core/sqlite-wasm-driver.ts';
import { loadSqlite } from '../../src/core/sqlite-wasm.ts';
import type { AppendRequest } from '../../src/core/records.ts';

let n = 0;
const open = (options: Record<string, unknown> = {}) => openStore({ name: `hostile-${n++}`, ...options });
const stores: Store[] = [];
afterEach(async () => {
  await Promise.allSettled(stores.splice(0).map((s) => s.close()));
});
async function fresh(options: Record<string, unknown> = {}): Promise<Store> {
  const s = await open(options);
  stores.push(s);
  return s;
}

/** The code a call failed with (synchronously or not), or 'ok'. */
async function codeOf(fn: () => unknown): Promise<string> {
  try {
    await fn();
    return 'ok';
  } catch (e) {
    return isCairnError(e) ? e.code : `not a CairnError: ${String(e)}`;
  }
}

describe('a runaway query', () => {
  it('is interrupted past its time budget with QUERY_TIMEOUT, and the store goes on serving', async () => {
    const s = await fresh({ queryTimeout: 200 });
    const endless = 'WITH RECURSIVE c(x) AS (SELECT 1 UNION ALL SELECT x + 1 FROM c) SELECT count(*) FROM c';
    const started = Date.now();
    expect(await codeOf(() => s.query(endless))).toBe('QUERY_TIMEOUT');
    expect(Date.now() - started).toBeLessThan(5000);
    // A call's own budget overrides the store's.
    expect(await codeOf(() => s.query(endless, [], { timeoutMs: 50 }))).toBe('QUERY_TIMEOUT');
    expect((await s.append('after-1', [{ type: 'Still' }])).position).toBe(1);
    expect(await s.query('SELECT count(*) AS n FROM events')).toEqual([{ n: 1 }]);
  });

  it('ends a watch with QUERY_TIMEOUT instead of freezing the store', async () => {
    const s = await fresh({ queryTimeout: 100 });
    const w = s.watch('WITH RECURSIVE c(x) AS (SELECT 1 UNION ALL SELECT x + 1 FROM c) SELECT count(*) FROM c', [], () => {});
    expect(await codeOf(() => w.done)).toBe('QUERY_TIMEOUT');
    expect((await s.append('w-1', [{ type: 'Still' }])).version).toBe(1);
  });
});

describe('names that are not well-formed UTF-16', () => {
  it('refuses lone surrogates in streams, types and routing keys, so two names never merge', async () => {
    const s = await fresh();
    expect(await codeOf(() => s.append('x\uD800', [{ type: 'A' }], { expectedVersion: 'no_stream' }))).toBe('INVALID_STREAM');
    expect(await codeOf(() => s.append('x\uDC00', [{ type: 'A' }], { expectedVersion: 'no_stream' }))).toBe('INVALID_STREAM');
    expect(await codeOf(() => s.readStream('x\uDC00'))).toBe('INVALID_STREAM');
    expect(await codeOf(() => s.append('t-1', [{ type: 'Bad\uD800' }]))).toBe('INVALID_EVENT');
    // The json_each path (4 events or more) checks the same way.
    expect(await codeOf(() => s.append('t-1', Array.from({ length: 5 }, () => ({ type: 'Bad\uDFFF' }))))).toBe('INVALID_EVENT');
    expect(await codeOf(() => s.append('t-1', [{ type: 'A' }], { routingKey: 'eu\uD800' }))).toBe('INVALID_ARGUMENT');
    expect(await codeOf(() => s.read({ types: ['Bad\uD800'] }))).toBe('INVALID_ARGUMENT');
    expect(await s.head()).toBe(0);
    // Well-formed pairs are fine, and kept apart.
    await s.append('x😀', [{ type: 'A😀' }], { expectedVersion: 'no_stream' });
    expect((await s.readStream('x😀')).map((e) => e.type)).toEqual(['A😀']);
  });
});

describe('options that looped, or were taken with wrong results', () => {
  it('refuses a batch size of 0 instead of asking for empty pages for ever', async () => {
    const s = await fresh();
    await s.append('b-1', [{ type: 'A' }]);
    const iterate = async () => {
      for await (const e of s.events({}, { batchSize: 0 })) void e;
    };
    expect(await codeOf(iterate)).toBe('INVALID_ARGUMENT');
    expect(await codeOf(() => s.subscribe({}, () => {}, { batchSize: -1 }))).toBe('INVALID_ARGUMENT');
  });

  it('refuses filters and read options of the wrong kind', async () => {
    const s = await fresh();
    await s.append('f-1', [{ type: 'ItemAdded' }]);
    const bad: [string, () => unknown][] = [
      ['read(null)', () => s.read(null as never)],
      ["types: 'ItemAdded'", () => s.read({ types: 'ItemAdded' as never })],
      ['types: [1]', () => s.read({ types: [1 as never] })],
      ['types: []', () => s.read({ types: [] })],
      ['category: {}', () => s.read({ category: {} as never })],
      ['category: 5', () => s.read({ category: 5 as never })],
      ['unknown filter field', () => s.read({ categroy: 'f' } as never)],
      ["fromVersion: 'abc'", () => s.readStream('f-1', { fromVersion: 'abc' as never })],
      ["direction: 'sideways'", () => s.readStream('f-1', { direction: 'sideways' as never })],
      ['limit: 1e12', () => s.readStream('f-1', { limit: 1e12 })],
      ['limit: -1', () => s.readStream('f-1', { limit: -1 })],
      ['subscribe with types as a string', () => s.subscribe({ types: 'ItemAdded' as never }, () => {})],
      ['consumer with category 5', () => s.consumer('c', { category: 5 as never }, () => {})],
    ];
    for (const [what, call] of bad) expect(await codeOf(call), what).toBe('INVALID_ARGUMENT');
    expect((await s.read({ types: ['ItemAdded'] })).edges).toHaveLength(1);
  });

  it('accepts only the cursors it made', async () => {
    const s = await fresh();
    await s.append('c-1', [{ type: 'A' }, { type: 'B' }]);
    for (const cursor of [btoa('cairn:1:'), btoa('cairn:1:1e2'), btoa('cairn:1:0x10'), btoa('cairn:1: 1'), btoa('cairn:1:01'), btoa('cairn:1:-1'), 'nope', '']) {
      expect(await codeOf(() => s.read({}, { first: 1, after: cursor })), cursor).toBe('INVALID_ARGUMENT');
    }
    expect((await s.read({}, { first: 1, after: encodeCursor(1) })).edges.map((e) => e.node.type)).toEqual(['B']);
  });

  it("refuses openStore's and an aggregate's bad options", async () => {
    for (const options of [{ maxEventBytes: Number.NaN }, { maxEventBytes: -1 }, { maxEventBytes: 1.5 }, { durability: 'bogus' }, { queryTimeout: 0 }, { storage: 'disk' }]) {
      expect(await codeOf(() => open(options)), JSON.stringify(options)).toBe('INVALID_ARGUMENT');
    }
    const s = await fresh();
    const definition = { category: 'cart', initialState: 0, evolve: (x: number) => x, decide: () => [] };
    for (const snapshotEvery of [0, -1, Number.NaN, 2.5]) {
      expect(await codeOf(() => s.aggregate({ ...definition, snapshotEvery })), String(snapshotEvery)).toBe('INVALID_ARGUMENT');
    }
    expect(await codeOf(() => s.aggregate({ ...definition, snapshotEvery: 10 }))).toBe('ok');
  });
});

describe('a query that writes through a table-valued pragma', () => {
  it('is refused, and nothing is written', async () => {
    const s = await fresh();
    await s.append('p-1', [{ type: 'A' }]);
    expect(await codeOf(() => s.query('SELECT * FROM pragma_optimize'))).toBe('READ_ONLY_QUERY');
    expect(await s.query("SELECT count(*) AS n FROM sqlite_schema WHERE name = 'sqlite_stat1'")).toEqual([{ n: 0 }]);
    // Reading pragmas that only report still works.
    expect(await s.query('PRAGMA integrity_check')).toEqual([{ integrity_check: 'ok' }]);
  });
});

describe('appendMany with one id twice', () => {
  it('is DUPLICATE_EVENT_ID and writes nothing, as inside one append', async () => {
    const s = await fresh();
    const id = '01JCA8RN000000000000000001';
    expect(
      await codeOf(() =>
        s.appendMany([
          { stream: 'd-1', events: [{ id, type: 'A' }] },
          { stream: 'd-1', events: [{ id, type: 'A' }] },
        ]),
      ),
    ).toBe('DUPLICATE_EVENT_ID');
    expect(await codeOf(() => s.append('d-2', [{ id, type: 'A' }, { id, type: 'A' }]))).toBe('DUPLICATE_EVENT_ID');
    expect(await s.head()).toBe(0);
  });
});

describe('inputs that threw raw errors', () => {
  it('gives typed errors for deep data, huge appends and out-of-range parameters', async () => {
    const s = await fresh({ maxEventBytes: 8 * 1024 * 1024 });
    let deep: unknown = 1;
    for (let i = 0; i < 5000; i++) deep = [deep];
    expect(await codeOf(() => s.append('h-1', [{ type: 'Deep', data: deep }]))).toBe('INVALID_EVENT');
    const mib = 'x'.repeat(1024 * 1024);
    expect(await codeOf(() => s.append('h-1', Array.from({ length: 600 }, () => ({ type: 'Big', data: mib }))))).toBe('INVALID_EVENT');
    expect(await codeOf(() => s.query('SELECT ?', [2n ** 70n]))).toBe('INVALID_ARGUMENT');
    expect(await s.query('SELECT ? AS v', [2n ** 60n])).toEqual([{ v: 2n ** 60n }]);
    expect(await s.head()).toBe(0);
  });
});

describe("the engine's own checks (what a worker's inbox receives)", () => {
  let engine: Engine;
  const ids = createIdFactory();
  const good = (): AppendRequest => encodeAppend('e-1', [{ type: 'A', data: { ok: true } }], undefined, ids, 1 << 20);
  const tampered = (change: (r: AppendRequest) => void): AppendRequest => {
    const r = good();
    change(r);
    return r;
  };
  async function start(): Promise<Engine> {
    const sqlite3 = await loadSqlite();
    engine = createEngine(createSqliteWasmDriver(sqlite3, new sqlite3.oo1.DB(':memory:', 'c')));
    return engine;
  }
  afterEach(async () => engine?.close());

  it('refuses encoded events a page would never have sent, and stores none of them', async () => {
    const e = await start();
    const cases: [string, AppendRequest, string][] = [
      ['data that is not JSON', tampered((r) => void (r.events[0]!.data = '{not json')), 'INVALID_EVENT'],
      ['metadata that is an array', tampered((r) => void (r.events[0]!.metadata = '[1,2]')), 'INVALID_EVENT'],
      ['a routing key that is a number', tampered((r) => void ((r as { routingKey: unknown }).routingKey = 42)), 'INVALID_ARGUMENT'],
      ["schemaVersion 'x'", tampered((r) => void ((r.events[0] as { schemaVersion: unknown }).schemaVersion = 'x')), 'INVALID_EVENT'],
      ['an id that is not a ULID', tampered((r) => void (r.events[0]!.id = 'x')), 'INVALID_EVENT'],
      ['no events', tampered((r) => void (r.events = [])), 'INVALID_EVENT'],
      ['a bad expected version', tampered((r) => void ((r as { expectedVersion: unknown }).expectedVersion = -3)), 'INVALID_ARGUMENT'],
    ];
    for (const [what, req, code] of cases) expect(await codeOf(() => e.append(req)), what).toBe(code);
    expect(await codeOf(() => e.append(null as never))).toBe('INVALID_ARGUMENT');
    expect(await e.head()).toBe(0);
    expect((await e.append(good())).position).toBe(1);
  });

  it('refuses a snapshot that is not JSON and a checkpoint past the head', async () => {
    const e = await start();
    await e.append(good());
    expect(await codeOf(() => e.saveSnapshot('e-1', 1, 1, '{oops'))).toBe('INVALID_ARGUMENT');
    await e.openConsumer('mailer', 'start');
    expect(await codeOf(() => e.advanceConsumer('mailer', 1e12))).toBe('INVALID_ARGUMENT');
    expect(await codeOf(() => e.advanceConsumer('mailer', 1))).toBe('ok');
    expect((await e.consumers()).map((c) => [c.name, c.position])).toEqual([['mailer', 1]]);
  });
});

describe('projection handlers are fenced', () => {
  const wild = (body: string): Projection => ({
    name: 'wild',
    version: 1,
    setup: (db) => db.exec('CREATE TABLE wild (id TEXT PRIMARY KEY)'),
    handle: (event, db) => {
      if (event.type === 'Escape') db.run(body);
      else db.run('INSERT INTO wild VALUES (?) ON CONFLICT DO NOTHING', [event.id]);
    },
  });

  for (const [what, sql] of [
    ['transaction control', 'COMMIT'],
    ['a savepoint', 'SAVEPOINT mine'],
    ['a forged event', "INSERT INTO events (id, stream, category, version, type, data, timestamp) VALUES ('x', 'forged', 'forged', 1, 'Forged', '{}', 0)"],
    ["another table of Cairn's", 'DELETE FROM cairn_consumers'],
    ['a pragma', 'PRAGMA synchronous = OFF'],
  ] as const) {
    it(`refuse ${what}: only that append fails, with PROJECTION_FAILED, and the rest of its group commits`, async () => {
      const s = await fresh({ projections: [wild(sql)] });
      const outcomes = await Promise.allSettled([
        s.append('g-1', [{ type: 'Fine' }]),
        s.append('g-2', [{ type: 'Escape' }]),
        s.append('g-3', [{ type: 'Fine' }]),
      ]);
      expect(outcomes.map((o) => o.status)).toEqual(['fulfilled', 'rejected', 'fulfilled']);
      expect((outcomes[1] as PromiseRejectedResult).reason).toMatchObject({ code: 'PROJECTION_FAILED', projection: 'wild' });
      expect((await s.read({})).edges.map((e) => e.node.stream)).toEqual(['g-1', 'g-3']);
      expect(await s.query('SELECT count(*) AS n FROM wild')).toEqual([{ n: 2 }]);
    });
  }

  it('refuse a setup that puts a trigger on the events table', async () => {
    const sneaky: Projection = {
      name: 'sneaky',
      version: 1,
      setup: (db) =>
        db.exec(`CREATE TABLE sneaky (n INTEGER);
                 CREATE TRIGGER sneaky_forge AFTER INSERT ON events BEGIN INSERT INTO sneaky VALUES (1); END;`),
      handle: () => {},
    };
    expect(await codeOf(() => open({ projections: [sneaky] }))).toBe('PROJECTION_FAILED');
  });
});
