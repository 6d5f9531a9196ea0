/**
 * Pull over HTTP against a real PostgreSQL: the late-commit reader (nothing skipped, nothing
 * twice, order agreeing with versions), pages and `more`, filters, size-bounded pages.
 */
import type { Client } from 'pg';
import { afterAll, beforeAll, describe, expect, it, onTestFinished } from 'vitest';
import { appendPush } from '../../server/store/append.ts';
import type { Queryable } from '../../server/store/storage.ts';
import type { ServerEvent } from '../../src/sync/protocol.ts';
import { append, connect, createDatabase, ev, newClient, pushOf, startServer, type Running } from './helpers.ts';

let db: string;
let s: Running;
beforeAll(async () => {
  db = await createDatabase();
  s = await startServer({ database: db });
});
afterAll(async () => {
  await s?.server.close();
});

let n = 0;
const fresh = (category = 'pull'): string => `${category}-${++n}`;

function onClient(client: Client): Queryable {
  return {
    async query(sql, params) {
      const r = await client.query(sql, params as unknown[]);
      return { rows: r.rows, rowCount: r.rowCount ?? 0 };
    },
    async exec(sql) {
      await client.query(sql);
    },
  };
}

/** Each stream's versions appear in increasing order, starting at 1, without gaps. */
function expectVersionOrder(events: ServerEvent[]): void {
  const last = new Map<string, number>();
  for (const e of events) {
    expect(e.version, `${e.stream} version after ${last.get(e.stream) ?? 0}`).toBe((last.get(e.stream) ?? 0) + 1);
    last.set(e.stream, e.version);
  }
}

describe('late commits', () => {
  it('never skips an event whose transaction commits after later ones', async () => {
    const start = await s.api.pullAll();
    const held = fresh('held');
    const other = fresh('other');
    const pushed = new Set<string>();
    const track = <T extends { batches: { appends: { events: { id: string }[] }[] }[] }>(p: T): T => {
      for (const b of p.batches) for (const a of b.appends) for (const e of a.events) pushed.add(e.id);
      return p;
    };
    await s.api.push(track(pushOf(newClient(), [append(other, [ev()], 'no_stream')])));

    // A second connection runs the server's own append code and keeps its transaction open.
    const side = await connect(db);
    // Whatever happens, do not leave it open: it would hold back every reader of the cluster.
    onTestFinished(() => side.end().catch(() => {}));
    await side.query('BEGIN');
    const heldPush = track(pushOf(newClient(), [append(held, [ev('Held'), ev('Held')], 'no_stream')]));
    const heldResult = await appendPush(onClient(side), 'default', heldPush);
    expect(heldResult.inserted).toBe(2);
    const heldPositions = (heldResult.results[0] as { appends: { events: { serverPosition: number }[] }[] }).appends[0]!.events.map(
      (e) => e.serverPosition,
    );

    // Others push and commit meanwhile: their rows take higher positions and commit first.
    for (let i = 0; i < 3; i++) {
      await s.api.push(track(pushOf(newClient(), [append(other, [ev(), ev()], 'any')], [append(fresh('more'), [ev()])])));
    }
    // A push to the held stream waits for the held transaction's stream lock.
    let waitingDone = false;
    const waiting = s.api
      .push(track(pushOf(newClient(), [append(held, [ev('After')], 'stream_exists')])))
      .finally(() => (waitingDone = true));

    // A reader paging on the position alone would now see rows above the held ones, and skip them for ever.
    const probe = await connect(db);
    const { rows } = await probe.query<{ n: string }>('SELECT count(*) AS n FROM cairn_events WHERE global_position > $1', [
      Math.max(...heldPositions),
    ]);
    expect(Number(rows[0]!.n)).toBeGreaterThan(0);
    await probe.end();

    // Pull now: nothing past the held transaction.
    const during = await s.api.pullAll({ cursor: start.cursor });
    expect(during.events.map((e) => e.stream)).toEqual([other]);
    expect(waitingDone).toBe(false);

    await side.query('COMMIT');
    const after = await waiting;
    expect(after.results[0]).toMatchObject({ status: 'ok', appends: [{ stream: held, version: 3 }] });

    const rest = await s.api.pullAll({ cursor: during.cursor });
    const all = [...during.events, ...rest.events];
    expect(all.map((e) => e.id).sort()).toEqual([...pushed].sort()); // every event...
    expect(new Set(all.map((e) => e.id)).size).toBe(all.length); // ...exactly once
    expectVersionOrder(all);
    // The held transaction's rows come first: it took its transaction id before the others.
    expect(rest.events.slice(0, 2).map((e) => e.type)).toEqual(['Held', 'Held']);
    expect((await s.api.pull({ cursor: rest.cursor })).events).toEqual([]);
  });

  it('keeps version order per stream under concurrent pushes', async () => {
    const start = await s.api.pullAll();
    const streams = [fresh('race'), fresh('race'), fresh('race')];
    await Promise.all(
      Array.from({ length: 24 }, (_, i) =>
        s.api.push(
          pushOf(newClient(), [append(streams[i % 3]!, [ev(), ev()], 'any'), append(streams[(i + 1) % 3]!, [ev()], 'any')]),
        ),
      ),
    );
    const { events } = await s.api.pullAll({ cursor: start.cursor, limit: 7 });
    expect(events).toHaveLength(24 * 3);
    expectVersionOrder(events);
  });
});

describe('pages', () => {
  it('pages with limit and more, and an empty pull keeps the cursor', async () => {
    const stream = fresh('page');
    const start = await s.api.pullAll();
    const events = Array.from({ length: 25 }, (_, i) => ev('E', { i }));
    await s.api.push(pushOf(newClient(), [append(stream, events.slice(0, 10))], [append(stream, events.slice(10))]));
    const p1 = await s.api.pull({ cursor: start.cursor, limit: 10 });
    expect([p1.events.length, p1.more]).toEqual([10, true]);
    const p2 = await s.api.pull({ cursor: p1.cursor, limit: 10 });
    expect([p2.events.length, p2.more]).toEqual([10, true]);
    const p3 = await s.api.pull({ cursor: p2.cursor, limit: 10 });
    expect([p3.events.length, p3.more]).toEqual([5, false]);
    expect([...p1.events, ...p2.events, ...p3.events].map((e) => e.id)).toEqual(events.map((e) => e.id));
    const p4 = await s.api.pull({ cursor: p3.cursor, limit: 10 });
    expect(p4).toEqual({ events: [], cursor: p3.cursor, more: false });
    const exact = await s.api.pull({ cursor: start.cursor, limit: 25 });
    expect([exact.events.length, exact.more]).toEqual([25, false]);
  });

  it('starts from the beginning with a null cursor, in server order', async () => {
    const { events } = await s.api.pullAll({ cursor: null });
    expect(events.length).toBeGreaterThan(25);
    expectVersionOrder(events);
  });

  it('filters by categories OR streams in SQL; an empty list names nothing', async () => {
    const start = await s.api.pullAll();
    const a1 = 'fa-1';
    const a2 = 'fa-2';
    const b1 = 'fb-1';
    const c1 = 'fc';
    await s.api.push(pushOf(newClient(), [append(a1, [ev()]), append(b1, [ev()]), append(a2, [ev()]), append(c1, [ev()])]));
    const streams = async (filter: object): Promise<string[]> =>
      (await s.api.pullAll({ cursor: start.cursor, filter })).events.map((e) => e.stream);
    expect(await streams({ categories: ['fa'] })).toEqual([a1, a2]);
    expect(await streams({ streams: [b1] })).toEqual([b1]);
    expect(await streams({ categories: ['fa'], streams: [b1] })).toEqual([a1, b1, a2]);
    expect(await streams({ categories: ['fc'] })).toEqual([c1]);
    expect(await streams({ categories: [] })).toEqual([]);
    expect(await streams({})).toEqual([a1, b1, a2, c1]);
  });

  it('bounds a page by size as well as by count', async () => {
    const small = await startServer({ database: db, maxBodyBytes: 64 * 1024 });
    try {
      const start = await small.api.pullAll();
      const stream = fresh('big');
      const big = 'x'.repeat(10_000);
      for (let i = 0; i < 12; i++) await small.api.push(pushOf(newClient(), [append(stream, [ev('Big', big)])]));
      const first = await small.api.pull({ cursor: start.cursor });
      expect(first.more).toBe(true);
      expect(first.events.length).toBeGreaterThan(1);
      expect(first.events.length).toBeLessThan(12);
      const { events } = await small.api.pullAll({ cursor: first.cursor });
      expect(first.events.length + events.length).toBe(12);
    } finally {
      await small.server.close();
    }
  });
});
