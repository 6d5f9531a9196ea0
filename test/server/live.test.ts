/**
 * The live stream over HTTP: `ready`, then a `poke` after another device's push; heartbeats;
 * a device held back by a long transaction elsewhere is poked again once the horizon passes.
 */
import { afterAll, beforeAll, describe, expect, it, onTestFinished } from 'vitest';
import { append, connect, createDatabase, ev, newClient, openLive, pushOf, startServer, type Running } from './helpers.ts';

let db: string;
let s: Running;
beforeAll(async () => {
  db = await createDatabase();
  s = await startServer({ database: db, live: { stallCheckMs: 100 } });
});
afterAll(async () => {
  await s?.server.close();
});

describe('live', () => {
  it('sends ready on connect, then a poke after another device pushes', async () => {
    const res = await fetch(`${s.url}/v1/live`);
    expect(res.status).toBe(200);
    expect(res.headers.get('content-type')).toBe('text/event-stream; charset=utf-8');
    expect(res.headers.get('cache-control')).toBe('no-cache, no-transform');
    await res.body?.cancel();

    const live = await openLive(s.url);
    onTestFinished(() => live.close());
    await live.next('ready');
    expect(await live.arrives('poke', 200)).toBe(false); // nothing new yet
    const start = (await s.api.pullAll()).cursor;
    await s.api.push(pushOf(newClient(), [append('live-1', [ev()])]));
    await live.next('poke');
    const { events } = await s.api.pullAll({ cursor: start });
    expect(events.map((e) => e.stream)).toEqual(['live-1']);
  });

  it('a device that pulls on every poke ends up with every event of a burst', async () => {
    const live = await openLive(s.url);
    onTestFinished(() => live.close());
    await live.next('ready');
    let cursor = (await s.api.pullAll()).cursor;
    const seen: string[] = [];
    const pushes = Array.from({ length: 20 }, (_, i) => pushOf(newClient(), [append(`burst-${i % 4}`, [ev()])]));
    const ids = pushes.map((p) => p.batches[0]!.appends[0]!.events[0]!.id);
    await Promise.all(pushes.map((p) => s.api.push(p)));
    let pokes = 0;
    while (seen.length < ids.length) {
      await live.next('poke', 3_000);
      pokes++;
      const page = await s.api.pullAll({ cursor });
      cursor = page.cursor;
      seen.push(...page.events.map((e) => e.id));
    }
    expect(seen.sort()).toEqual([...ids].sort());
    expect(pokes).toBeLessThanOrEqual(20);
  });

  it('sends heartbeat comments on an idle stream', async () => {
    const quick = await startServer({ database: db, live: { heartbeatMs: 50 } });
    try {
      const res = await fetch(`${quick.url}/v1/live`);
      const reader = res.body!.getReader();
      let text = '';
      const deadline = Date.now() + 3_000;
      while (!text.includes(': heartbeat\n\n') && Date.now() < deadline) {
        const { value, done } = await reader.read();
        if (done) break;
        text += new TextDecoder().decode(value);
      }
      await reader.cancel();
      expect(text.startsWith('event: ready\ndata: {}\n\n')).toBe(true);
      expect(text).toContain(': heartbeat\n\n');
    } finally {
      await quick.server.close();
    }
  });

  it('pokes again once a long transaction elsewhere stops holding the readers back', async () => {
    // Two servers on the same database: one checks the horizon often, one almost never.
    const slow = await startServer({ database: db, live: { stallCheckMs: 60_000 } });
    onTestFinished(() => slow.server.close());
    const live = await openLive(s.url);
    const control = await openLive(slow.url);
    onTestFinished(() => {
      live.close();
      control.close();
    });
    await Promise.all([live.next('ready'), control.next('ready')]);
    const start = (await s.api.pullAll()).cursor;

    // Any transaction that has an id holds the horizon: here, one that wrote nothing of ours.
    const side = await connect(db);
    onTestFinished(() => side.end().catch(() => {}));
    await side.query('BEGIN');
    await side.query('SELECT pg_current_xact_id()');

    await s.api.push(pushOf(newClient(), [append('stall-1', [ev()])]));
    await Promise.all([live.next('poke'), control.next('poke')]); // the NOTIFY reaches both
    expect((await s.api.pull({ cursor: start })).events).toEqual([]); // but the event is above the horizon

    await side.query('COMMIT'); // no NOTIFY for this one
    const deadline = Date.now() + 3_000;
    let got: string[] = [];
    while (got.length === 0 && Date.now() < deadline) {
      await live.next('poke', 3_000);
      got = (await s.api.pull({ cursor: start })).events.map((e) => e.stream);
    }
    expect(got).toEqual(['stall-1']);
    // Without the horizon check, a device would have waited for the next push.
    expect(await control.arrives('poke', 300)).toBe(false);
  });

  it('ends the live streams when the server closes', async () => {
    const closing = await startServer({ database: db });
    const res = await fetch(`${closing.url}/v1/live`);
    const reader = res.body!.getReader();
    await reader.read(); // ready
    await closing.server.close();
    let done = false;
    for (let i = 0; i < 10 && !done; i++) done = (await reader.read()).done;
    expect(done).toBe(true);
  });
});
