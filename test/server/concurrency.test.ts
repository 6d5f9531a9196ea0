/**
 * Concurrent pushes over HTTP against a real PostgreSQL: one winner per version with no gaps
 * on a contended stream, no deadlocks whatever order pushes name their streams in, and
 * pushes to different streams that do not wait on each other.
 */
import { afterAll, beforeAll, describe, expect, it, onTestFinished } from 'vitest';
import { LOCK_STREAMS } from '../../server/store/append.ts';
import type { PushBatchOk } from '../../src/sync/protocol.ts';
import { append, connect, createDatabase, ev, newClient, pushOf, startServer, type Running } from './helpers.ts';

let db: string;
let s: Running;
beforeAll(async () => {
  db = await createDatabase();
  s = await startServer({
    database: db,
    authorize: (r) => (r.token === null ? null : { tenant: r.token }),
  });
});
afterAll(async () => {
  await s?.server.close();
});

describe('concurrent pushes', () => {
  it('to one stream from many devices: one winner per version, no gaps, each event once', async () => {
    const stream = 'hot-1';
    const devices = 12;
    const appendsEach = 3;
    const won: number[] = [];
    let conflicts = 0;
    await Promise.all(
      Array.from({ length: devices }, async () => {
        const device = newClient();
        let known = 0; // what this device believes the stream's version is
        for (let i = 0; i < appendsEach; i++) {
          const events = [ev('Hot', { device, i })];
          for (;;) {
            const r = await s.api.push(pushOf(device, [append(stream, events, known)]), 't-hot');
            const result = r.results[0]!;
            if (result.status === 'ok') {
              known = result.appends[0]!.version;
              won.push(known);
              break;
            }
            expect(result.status).toBe('conflict');
            conflicts++;
            known = (result as { actual: number }).actual; // rebase on the server's version
          }
        }
      }),
    );
    expect(won.sort((a, b) => a - b)).toEqual(Array.from({ length: devices * appendsEach }, (_, i) => i + 1));
    expect(conflicts).toBeGreaterThan(0); // they really did contend
    const { events } = await s.api.pullAll({ filter: { streams: [stream] } }, 't-hot');
    expect(events.map((e) => e.version)).toEqual(won);
    expect(new Set(events.map((e) => e.id)).size).toBe(devices * appendsEach);
  });

  it('naming the same streams in opposite orders never deadlocks', async () => {
    const streams = ['dl-a', 'dl-b', 'dl-c'];
    const results = await Promise.all(
      Array.from({ length: 30 }, (_, i) => {
        const order = i % 2 === 0 ? streams : [...streams].reverse();
        return s.api.push(
          pushOf(newClient(), order.slice(0, 2).map((st) => append(st, [ev()])), [append(order[2]!, [ev()])]),
          't-dl',
        );
      }),
    );
    for (const r of results) for (const b of r.results) expect(b.status).toBe('ok');
    const { events } = await s.api.pullAll({ filter: { categories: ['dl'] } }, 't-dl');
    expect(events).toHaveLength(90);
    for (const st of streams) {
      expect(events.filter((e) => e.stream === st).map((e) => e.version)).toEqual(Array.from({ length: 30 }, (_, i) => i + 1));
    }
    expect(s.log.lines.filter((l) => l.startsWith('error'))).toEqual([]);
  });

  it('locks per stream: a held stream blocks only its own pushes, not its category or tenant', async () => {
    const side = await connect(db);
    onTestFinished(() => side.end().catch(() => {}));
    await side.query('BEGIN');
    await side.query(LOCK_STREAMS, ['t-lock', ['cat-1']]); // as a push to cat-1 in tenant t-lock would
    let blockedDone = false;
    const blocked = s.api.push(pushOf(newClient(), [append('cat-1', [ev()])]), 't-lock').finally(() => (blockedDone = true));
    // Same category, same tenant, other stream: goes through while cat-1 is held.
    const sibling = await s.api.push(pushOf(newClient(), [append('cat-2', [ev()])]), 't-lock');
    expect(sibling.results[0]!.status).toBe('ok');
    // Same stream name in another tenant: its own lock.
    const elsewhere = await s.api.push(pushOf(newClient(), [append('cat-1', [ev()])]), 't-other');
    expect(elsewhere.results[0]!.status).toBe('ok');
    // A batch that also touches the held stream waits, whole.
    let mixedDone = false;
    const mixed = s.api
      .push(pushOf(newClient(), [append('cat-3', [ev()]), append('cat-1', [ev()])]), 't-lock')
      .finally(() => (mixedDone = true));
    await new Promise((r) => setTimeout(r, 200));
    expect([blockedDone, mixedDone]).toEqual([false, false]);
    await side.query('COMMIT');
    const [b, m] = await Promise.all([blocked, mixed]);
    const versions = [(b.results[0] as PushBatchOk).appends[0]!.version, (m.results[0] as PushBatchOk).appends[1]!.version];
    expect(versions.sort()).toEqual([1, 2]);
  });

  it('pushes to different streams run in parallel', async () => {
    // Every push waits on a lock held elsewhere for its own stream; released one by one in
    // reverse, each completes right after its release, not after the others.
    const holders = await Promise.all(Array.from({ length: 4 }, () => connect(db)));
    onTestFinished(() => Promise.all(holders.map((h) => h.end().catch(() => {}))).then(() => {}));
    const done: number[] = [];
    const pushes = holders.map(async (h, i) => {
      await h.query('BEGIN');
      await h.query(LOCK_STREAMS, ['t-par', [`par-${i}`]]);
      return i;
    });
    await Promise.all(pushes);
    const inFlight = holders.map((_, i) =>
      s.api.push(pushOf(newClient(), [append(`par-${i}`, [ev()])]), 't-par').then(() => done.push(i)),
    );
    await new Promise((r) => setTimeout(r, 100));
    for (let i = holders.length - 1; i >= 0; i--) {
      await holders[i]!.query('COMMIT');
      await until(() => done.includes(i));
    }
    await Promise.all(inFlight);
    expect(done).toEqual([3, 2, 1, 0]);
  });
});

async function until(check: () => boolean): Promise<void> {
  const deadline = Date.now() + 5_000;
  while (!check()) {
    if (Date.now() > deadline) throw new Error('timed out');
    await new Promise((r) => setTimeout(r, 5));
  }
}
