/**
 * Push over HTTP against a real PostgreSQL: expected versions per stream, conflicts with the
 * server's version, the cascade within one push, idempotent retries, atomic batches.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { PushBatchOk } from '../../src/sync/protocol.ts';
import { append, countEvents, createDatabase, ev, newClient, pushOf, startServer, type Running } from './helpers.ts';

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
const fresh = (category = 'cart'): string => `${category}-${++n}`;
const ok = (r: unknown): PushBatchOk => {
  expect(r).toMatchObject({ status: 'ok' });
  return r as PushBatchOk;
};

describe('expected versions', () => {
  it('no_stream, stream_exists and exact versions are checked per stream', async () => {
    const stream = fresh();
    const client = newClient();
    const first = await s.api.push(pushOf(client, [append(stream, [ev(), ev()], 'no_stream')]));
    const a = ok(first.results[0]).appends[0]!;
    expect(a.stream).toBe(stream);
    expect(a.version).toBe(2);
    expect(a.events.map((e) => e.version)).toEqual([1, 2]);
    expect(a.events[1]!.serverPosition).toBeGreaterThan(a.events[0]!.serverPosition);

    const again = await s.api.push(pushOf(client, [append(stream, [ev()], 'no_stream')]));
    expect(again.results[0]).toEqual({ status: 'conflict', stream, expected: 'no_stream', actual: 2 });

    const exists = await s.api.push(pushOf(client, [append(stream, [ev()], 'stream_exists')]));
    expect(ok(exists.results[0]).appends[0]!.version).toBe(3);
    const missing = fresh();
    expect((await s.api.push(pushOf(client, [append(missing, [ev()], 'stream_exists')]))).results[0]).toEqual({
      status: 'conflict',
      stream: missing,
      expected: 'stream_exists',
      actual: 0,
    });

    expect(ok((await s.api.push(pushOf(client, [append(stream, [ev()], 3)]))).results[0]).appends[0]!.version).toBe(4);
    expect((await s.api.push(pushOf(client, [append(stream, [ev()], 3)]))).results[0]).toEqual({
      status: 'conflict',
      stream,
      expected: 3,
      actual: 4,
    });
    expect((await s.api.push(pushOf(client, [append(fresh(), [ev()], 0)]))).results[0]).toMatchObject({ status: 'ok' });
  });

  it("places 'any' appends after the server's events of their stream", async () => {
    const stream = fresh();
    const device1 = newClient();
    const device2 = newClient();
    await s.api.push(pushOf(device1, [append(stream, [ev(), ev(), ev()])]));
    const late = await s.api.push(pushOf(device2, [append(stream, [ev('Late'), ev('Later')], 'any')]));
    expect(ok(late.results[0]).appends[0]!.events.map((e) => e.version)).toEqual([4, 5]);
    const { events } = await s.api.pullAll({ filter: { streams: [stream] } });
    expect(events.map((e) => [e.version, e.type])).toEqual([
      [1, 'Added'],
      [2, 'Added'],
      [3, 'Added'],
      [4, 'Late'],
      [5, 'Later'],
    ]);
  });

  it('decides the batches of one push in order, each on top of the ones before', async () => {
    const stream = fresh();
    const r = await s.api.push(
      pushOf(
        newClient(),
        [append(stream, [ev()], 'no_stream')],
        [append(stream, [ev()], 1)],
        [append(stream, [ev(), ev()], 2)],
      ),
    );
    expect(r.results.map((x) => ok(x).appends[0]!.version)).toEqual([1, 2, 4]);
  });

  it('reports a conflict with the server version, and cascades it to later batches of that stream', async () => {
    const stream = fresh();
    const other = fresh('order');
    await s.api.push(pushOf(newClient(), [append(stream, [ev(), ev()])])); // the server is at 2
    // A device that believed the stream empty appended three times offline, then pushes.
    const r = await s.api.push(
      pushOf(
        newClient(),
        [append(stream, [ev()], 'no_stream')], // conflicts: the server is at 2
        [append(stream, [ev()], 2)], // would match the server by chance, but was decided on top of the failed one
        [append(other, [ev()], 'no_stream')], // another stream: unaffected
        [append(stream, [ev('Whatever')], 'any')], // 'any' is not decided on a version: stored
        [append(stream, [ev()], 'stream_exists')], // cascades too
      ),
    );
    expect(r.results[0]).toEqual({ status: 'conflict', stream, expected: 'no_stream', actual: 2 });
    expect(r.results[1]).toEqual({ status: 'conflict', stream, expected: 2, actual: 2 });
    expect(ok(r.results[2]).appends[0]!.version).toBe(1);
    expect(ok(r.results[3]).appends[0]!.version).toBe(3);
    expect(r.results[4]).toEqual({ status: 'conflict', stream, expected: 'stream_exists', actual: 3 });
    const { events } = await s.api.pullAll({ filter: { streams: [stream] } });
    expect(events.map((e) => e.type)).toEqual(['Added', 'Added', 'Whatever']);
  });

  it('checks two appends to the same stream in one batch in order', async () => {
    const stream = fresh();
    const good = await s.api.push(pushOf(newClient(), [append(stream, [ev()], 'no_stream'), append(stream, [ev()], 1)]));
    expect(ok(good.results[0]).appends.map((a) => a.version)).toEqual([1, 2]);
    const bad = await s.api.push(pushOf(newClient(), [append(stream, [ev()], 2), append(stream, [ev()], 2)]));
    expect(bad.results[0]).toEqual({ status: 'conflict', stream, expected: 2, actual: 2 });
  });
});

describe('atomic batches', () => {
  it('a batch that conflicts on one stream stores nothing of its other streams', async () => {
    const a = fresh();
    const b = fresh();
    const c = fresh();
    await s.api.push(pushOf(newClient(), [append(b, [ev()])]));
    const before = await countEvents(db);
    const r = await s.api.push(
      pushOf(newClient(), [append(a, [ev(), ev()], 'no_stream'), append(b, [ev()], 'no_stream'), append(c, [ev()], 'any')]),
    );
    expect(r.results[0]).toEqual({ status: 'conflict', stream: b, expected: 'no_stream', actual: 1 });
    expect(await countEvents(db)).toBe(before);
    expect((await s.api.pullAll({ filter: { streams: [a, c] } })).events).toEqual([]);
    // The streams table was not touched either: a is still empty.
    expect(ok((await s.api.push(pushOf(newClient(), [append(a, [ev()], 'no_stream')]))).results[0]).appends[0]!.version).toBe(1);
  });

  it('a batch stores all its appends across streams together', async () => {
    const a = fresh();
    const b = fresh('order');
    const r = await s.api.push(pushOf(newClient(), [append(a, [ev()], 'no_stream'), append(b, [ev(), ev()], 'no_stream')]));
    const [ra, rb] = ok(r.results[0]).appends;
    expect([ra!.version, rb!.version]).toEqual([1, 2]);
    const { events } = await s.api.pullAll({ filter: { streams: [a, b] } });
    expect(events.map((e) => e.stream)).toEqual([a, b, b]);
    expect(events.map((e) => e.serverPosition)).toEqual([...ra!.events, ...rb!.events].map((e) => e.serverPosition));
  });
});

describe('idempotent push', () => {
  it('the same push sent twice stores each event once and answers the same', async () => {
    const stream = fresh();
    const other = fresh('order');
    const client = newClient();
    const push = pushOf(
      client,
      [append(stream, [ev(), ev()], 'no_stream', 'eu')],
      [append(stream, [ev()], 2), append(other, [ev()], 'any')],
    );
    const before = await countEvents(db);
    const first = await s.api.push(push);
    const second = await s.api.push(structuredClone(push));
    expect(second).toEqual(first);
    expect(await countEvents(db)).toBe(before + 4);
  });

  it('a retry after a lost reply is answered from the store, even after the stream moved on', async () => {
    const stream = fresh();
    const device = newClient();
    const push = pushOf(device, [append(stream, [ev(), ev()], 'no_stream')]);
    const first = await s.api.push(push); // imagine this reply never reached the device
    await s.api.push(pushOf(newClient(), [append(stream, [ev()], 'any')])); // another device moves the stream to 3
    const retry = await s.api.push(push);
    expect(retry).toEqual(first); // no version check on an exact retry: version 2, as first answered
    const { events } = await s.api.pullAll({ filter: { streams: [stream] } });
    expect(events).toHaveLength(3);
    expect(new Set(events.map((e) => e.id)).size).toBe(3);
  });

  it('a retry mixed with new batches answers the old ones from the store and stores the new', async () => {
    const stream = fresh();
    const device = newClient();
    const b1 = [append(stream, [ev()], 'no_stream')];
    const first = await s.api.push(pushOf(device, b1));
    const b2 = [append(stream, [ev()], 1)];
    const both = await s.api.push(pushOf(device, b1, b2));
    expect(both.results[0]).toEqual(first.results[0]);
    expect(ok(both.results[1]).appends[0]!.version).toBe(2);
  });

  it('a partial or altered retry is DUPLICATE_EVENT_ID, and stores nothing', async () => {
    const stream = fresh();
    const device = newClient();
    const e1 = ev();
    const e2 = ev();
    await s.api.push(pushOf(device, [append(stream, [e1, e2], 'no_stream')]));
    const before = await countEvents(db);
    const cases = [
      [append(stream, [e1, ev()], 'no_stream')], // one stored, one new
      [append(stream, [e2, e1], 'no_stream')], // another order
      [append(fresh(), [e1, e2], 'no_stream')], // another stream
      [append(stream, [e1, { ...e2, data: '{"n":2}' }], 'no_stream')], // other content
      [append(stream, [e1, e2], 'no_stream', 'us')], // another routing key
    ];
    for (const batch of cases) {
      const r = await s.api.push(pushOf(device, batch));
      expect(r.results[0]).toMatchObject({ status: 'rejected', error: { code: 'DUPLICATE_EVENT_ID' } });
      const error = (r.results[0] as { error: { message: string; fields: { id?: string } } }).error;
      expect([e1.id, e2.id]).toContain(error.fields.id);
      expect(error.message).toMatch(/not an exact retry/);
    }
    expect(await countEvents(db)).toBe(before);
    // The exact retry of each event alone (in order) is still fine.
    expect(ok((await s.api.push(pushOf(device, [append(stream, [e1], 'no_stream')]))).results[0]).appends[0]!.version).toBe(1);
  });

  it('a rejected batch does not stop the others, and cascades like a conflict', async () => {
    const stream = fresh();
    const taken = ev();
    await s.api.push(pushOf(newClient(), [append(fresh(), [taken])]));
    const r = await s.api.push(
      pushOf(newClient(), [append(stream, [ev(), taken], 'no_stream')], [append(stream, [ev()], 2)], [append(fresh(), [ev()])]),
    );
    expect(r.results[0]).toMatchObject({ status: 'rejected', error: { code: 'DUPLICATE_EVENT_ID', fields: { id: taken.id } } });
    expect(r.results[1]).toEqual({ status: 'conflict', stream, expected: 2, actual: 0 });
    expect(r.results[2]).toMatchObject({ status: 'ok' });
  });

  it('stores data and metadata byte for byte, with the device timestamp', async () => {
    const stream = fresh();
    const data = '{ "b": 1, "a": [1.50, "é\\u00e9😀"] }';
    const metadata = '{"correlationId":"c-1",  "z":null}';
    const e = ev('Exact', null, { data, metadata, timestamp: 1_234_567, schemaVersion: 3 });
    await s.api.push(pushOf(newClient(), [append(stream, [e], 'no_stream', 'eu-west')]));
    const { events } = await s.api.pullAll({ filter: { streams: [stream] } });
    expect(events[0]).toMatchObject({
      id: e.id,
      data,
      metadata,
      timestamp: 1_234_567,
      schemaVersion: 3,
      routingKey: 'eu-west',
      category: 'cart',
      version: 1,
    });
  });
});
