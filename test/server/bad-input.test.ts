/**
 * Bad input over HTTP: each answered with a 4xx and a typed error body, nothing written, and
 * the process still serving afterwards.
 */
import { connect as netConnect } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { MAX_PUSH_BATCHES, MAX_PUSH_EVENTS } from '../../src/sync/protocol.ts';
import { MAX_EVENTS_PER_APPEND } from '../../src/core/limits.ts';
import { append, countEvents, createDatabase, ev, newClient, pushOf, startServer, type Running } from './helpers.ts';

let db: string;
let s: Running;
let before: number;
beforeAll(async () => {
  db = await createDatabase();
  s = await startServer({ database: db }); // the default body limit: 8 MiB
  await s.api.push(pushOf(newClient(), [append('seed-1', [ev()])]));
  before = await countEvents(db);
});
afterAll(async () => {
  await s?.server.close();
});

const json = (text: string, type = 'application/json'): RequestInit => ({
  method: 'POST',
  body: text,
  headers: { 'content-type': type },
});
const good = (): ReturnType<typeof pushOf> => pushOf(newClient(), [append('cart-1', [ev()])]);

/** Sends a push body and expects it refused with `status` and `code`; returns the message. */
async function refused(init: RequestInit, status: number, code: string, path = '/v1/push'): Promise<string> {
  const r = await s.api.fail(path, init);
  expect(r.status, r.error.message).toBe(status);
  expect(r.error.code, r.error.message).toBe(code);
  expect(r.error.stack).toBeUndefined();
  return r.error.message;
}

describe('malformed bodies', () => {
  it('refuses JSON that does not parse, bytes that are not UTF-8, and bodies that are not objects', async () => {
    expect(await refused(json('{"client": '), 400, 'INVALID_ARGUMENT')).toMatch(/^The body is not valid JSON/);
    expect(await refused(json(''), 400, 'INVALID_ARGUMENT')).toMatch(/not valid JSON/);
    const latin1 = new Uint8Array([...new TextEncoder().encode('{"client":"'), 0xe9, ...new TextEncoder().encode('"}')]);
    expect(await refused({ ...json(''), body: latin1 }, 400, 'INVALID_ARGUMENT')).toBe('The body is not valid UTF-8');
    for (const text of ['null', '42', '"push"', '[]', 'true']) {
      expect(await refused(json(text), 400, 'INVALID_ARGUMENT')).toMatch(/^push request: must be an object/);
    }
    const deep = `${'['.repeat(100_000)}${']'.repeat(100_000)}`;
    await refused(json(deep), 400, 'INVALID_ARGUMENT');
    await refused(json(`{"client":${deep}}`), 400, 'INVALID_ARGUMENT');
  });

  it('refuses bodies over the limit with 413, declared or streamed', async () => {
    const big = JSON.stringify({ ...good(), padding: 'x'.repeat(8 * 1024 * 1024) });
    expect(await refused(json(big), 413, 'INVALID_ARGUMENT')).toMatch(/larger than the limit of 8388608 bytes/);
    const bytes = new TextEncoder().encode(big);
    const stream = new ReadableStream<Uint8Array>({
      start(c) {
        for (let i = 0; i < bytes.length; i += 65_536) c.enqueue(bytes.slice(i, i + 65_536));
        c.close();
      },
    });
    await refused({ ...json(''), body: stream, duplex: 'half' } as RequestInit, 413, 'INVALID_ARGUMENT');
  });

  it('refuses a content type other than JSON with 415', async () => {
    const text = JSON.stringify(good());
    expect(await refused(json(text, 'text/plain'), 415, 'INVALID_ARGUMENT')).toMatch(/must be JSON/);
    await refused(json(text, 'application/json; charset=latin1'), 415, 'INVALID_ARGUMENT');
    await refused(json(text, 'application/x-www-form-urlencoded'), 415, 'INVALID_ARGUMENT');
    await refused({ method: 'POST', body: new Blob([text]) }, 415, 'INVALID_ARGUMENT');
    await refused(json(JSON.stringify({ cursor: null }), 'text/json'), 415, 'INVALID_ARGUMENT', '/v1/pull');
    // These are fine.
    expect((await s.api.raw('/v1/push', json(JSON.stringify(good()), 'application/json; charset=UTF-8'))).status).toBe(200);
    expect((await s.api.raw('/v1/push', json(JSON.stringify(good()), 'Application/JSON'))).status).toBe(200);
    before += 2;
  });
});

describe('invalid messages', () => {
  it('names the path of wrong types and unknown fields', async () => {
    const p = good();
    const cases: [unknown, number, string, RegExp][] = [
      [{ ...p, client: 42 }, 400, 'INVALID_ARGUMENT', /^client: must be a string, got 42$/],
      [{ ...p, batches: {} }, 400, 'INVALID_ARGUMENT', /^batches: must be an array/],
      [{ ...p, extra: true }, 400, 'INVALID_ARGUMENT', /^extra: is not a field of this message$/],
      [{ client: p.client }, 400, 'INVALID_ARGUMENT', /^batches: is missing$/],
      [pushOf(p.client, [{ ...append('s-1', [ev()]), expectedVersion: 1.5 }]), 400, 'INVALID_ARGUMENT', /expectedVersion/],
      [pushOf(p.client, [{ ...append('s-1', [ev()]), force: true } as never]), 400, 'INVALID_ARGUMENT', /^batches\[0\]\.appends\[0\]\.force: is not a field/],
      [pushOf(p.client, [append('s-1', [ev(), { ...ev(), data: { n: 1 } } as never])]), 400, 'INVALID_EVENT', /^batches\[0\]\.appends\[0\]\.events\[1\]\.data: must be a string/],
      [pushOf(p.client, [append('s-1', [{ ...ev(), position: 1 } as never])]), 400, 'INVALID_EVENT', /events\[0\]\.position: is not a field/],
      [pushOf(p.client, [append('s-1', [ev('')])]), 400, 'INVALID_EVENT', /events\[0\]\.type: must not be empty/],
      [pushOf(p.client, [append('s-1', [ev('T', null, { data: '{nope' })])]), 400, 'INVALID_EVENT', /events\[0\]\.data: must be JSON text/],
      [pushOf(p.client, [append('', [ev()])]), 400, 'INVALID_STREAM', /^batches\[0\]\.appends\[0\]\.stream: A stream name must not be empty$/],
      [pushOf(p.client, [append('a\nb', [ev()])]), 400, 'INVALID_STREAM', /control characters/],
      [pushOf(p.client, [append('x'.repeat(201), [ev()])]), 400, 'INVALID_STREAM', /at most 200 characters/],
    ];
    for (const [body, status, code, message] of cases) {
      expect(await refused(json(JSON.stringify(body)), status, code)).toMatch(message);
    }
    const pulls: [unknown, RegExp][] = [
      [{ cursor: null, limit: 0 }, /^limit: limit must be >= 1$/],
      [{ cursor: null, limit: 'all' }, /^limit: must be a number/],
      [{ cursor: null, filter: { type: 'x' } }, /^filter\.type: is not a field/],
      [{ cursor: null, since: 0 }, /^since: is not a field/],
      [{}, /^cursor: is missing$/],
    ];
    for (const [body, message] of pulls) {
      expect(await refused(json(JSON.stringify(body)), 400, 'INVALID_ARGUMENT', '/v1/pull')).toMatch(message);
    }
    expect(await refused(json(JSON.stringify({ cursor: null, filter: { streams: [''] } })), 400, 'INVALID_STREAM', '/v1/pull')).toMatch(
      /^filter\.streams\[0\]/,
    );
  });

  it('refuses ids that are not ULIDs and strings with lone surrogates', async () => {
    const client = newClient();
    const e = ev();
    // JSON.stringify escapes lone surrogates as \udxxx, so these reach the server as a device would send them.
    const cases: [unknown, string, RegExp][] = [
      [pushOf(client, [append('s-1', [{ ...e, id: 'not-a-ulid' }])]), 'INVALID_EVENT', /events\[0\]\.id: must be a ULID/],
      [pushOf(client, [append('s-1', [{ ...e, id: e.id.toLowerCase() }])]), 'INVALID_EVENT', /events\[0\]\.id: must be a ULID/],
      [pushOf(client, [append('s-1', [{ ...e, id: `8${e.id.slice(1)}` }])]), 'INVALID_EVENT', /must be a ULID/],
      [pushOf(client, [append('s-1', [{ ...e, id: `${e.id.slice(0, 25)}\ud800` }])]), 'INVALID_EVENT', /must be a ULID/],
      [{ client: 'device-1', batches: [] }, 'INVALID_ARGUMENT', /^client: must be the device's id, a ULID or a UUID/],
      [pushOf(client, [append('cart-\ud800', [e])]), 'INVALID_STREAM', /stream: .*lone surrogate/],
      [pushOf(client, [append('s-1', [{ ...e, type: 'T\udfff' }])]), 'INVALID_EVENT', /type: must be well-formed UTF-16/],
      [pushOf(client, [append('s-1', [e], 'any', 'eu\ud83d')]), 'INVALID_ARGUMENT', /routingKey: must be well-formed UTF-16/],
      [pushOf(client, [append('s-1', [{ ...e, data: '"\ud800"' }])]), 'INVALID_EVENT', /data: must be well-formed UTF-16/],
      [pushOf(client, [append('s-1', [{ ...e, type: 'T\u0000' }])]), 'INVALID_EVENT', /type: must not contain U\+0000/],
    ];
    for (const [body, code, message] of cases) {
      expect(await refused(json(JSON.stringify(body)), 400, code)).toMatch(message);
    }
    expect(await refused(json(JSON.stringify({ cursor: 'abc\udc00' })), 400, 'INVALID_ARGUMENT', '/v1/pull')).toMatch(
      /^cursor: must be well-formed/,
    );
  });

  it('refuses too many events, too many batches, and an id twice', async () => {
    const client = newClient();
    const half = MAX_PUSH_EVENTS / 2 + 1;
    const many = pushOf(client, [append('many-1', Array.from({ length: half }, () => ev('M', 0)))], [append('many-3', Array.from({ length: half }, () => ev('M', 0)))]);
    expect(await refused(json(JSON.stringify(many)), 400, 'INVALID_ARGUMENT')).toBe(
      `push request: holds ${2 * half} events in 2 batches, over the limit of ${MAX_PUSH_EVENTS}`,
    );
    const long = pushOf(client, [append('many-1', Array.from({ length: MAX_EVENTS_PER_APPEND + 1 }, () => ev('M', 0)))]);
    expect(await refused(json(JSON.stringify(long)), 400, 'INVALID_EVENT')).toMatch(/events: must hold at most 10000 events/);
    // One batch (a device's appendMany over several streams) stays whole, past the limit of a push of many.
    const whole = pushOf(client, [append('many-4', Array.from({ length: half }, () => ev('M', 0))), append('many-5', Array.from({ length: half }, () => ev('M', 0)))]);
    const accepted = await s.api.push(whole);
    expect(accepted.results).toHaveLength(1);
    expect(accepted.results[0]).toMatchObject({ status: 'ok' });
    before += 2 * half;
    const batches = pushOf(client, ...Array.from({ length: MAX_PUSH_BATCHES + 1 }, () => [append('many-2', [ev('M', 0)])]));
    expect(await refused(json(JSON.stringify(batches)), 400, 'INVALID_ARGUMENT')).toBe(
      `batches: must hold at most ${MAX_PUSH_BATCHES} batches`,
    );
    const e = ev();
    const twice = pushOf(client, [append('dup-1', [e])], [append('dup-2', [{ ...e }])]);
    expect(await refused(json(JSON.stringify(twice)), 400, 'INVALID_EVENT')).toMatch(/ids are unique/);
    const tooBig = await startServer({ database: db, maxEventBytes: 100 });
    try {
      const r = await tooBig.api.fail('/v1/push', json(JSON.stringify(pushOf(client, [append('big-1', [ev('B', 'x'.repeat(200))])]))));
      expect([r.status, r.error.code]).toEqual([400, 'INVALID_EVENT']);
      expect(r.error.message).toMatch(/over the limit of 100$/);
    } finally {
      await tooBig.server.close();
    }
  });

  it('refuses cursors of another server and cursors that are not cursors', async () => {
    const other = await startServer({ database: await createDatabase() });
    let foreign: string;
    try {
      foreign = (await other.api.pull({ cursor: null })).cursor;
    } finally {
      await other.server.close();
    }
    expect(await refused(json(JSON.stringify({ cursor: foreign })), 400, 'INVALID_ARGUMENT', '/v1/pull')).toBe(
      'cursor: this cursor comes from another sync server (another database); pull with cursor null to start over',
    );
    const own = (await s.api.pull({ cursor: null })).cursor;
    const tampered = Buffer.from(Buffer.from(own, 'base64url').toString().replace(/\|\d+$/, '|-1')).toString('base64url');
    for (const cursor of ['garbage', 'Y2Fpcm4', tampered, `${own}=`, Buffer.from('c1|a|b|99999999999999999999999|1').toString('base64url')]) {
      expect(await refused(json(JSON.stringify({ cursor })), 400, 'INVALID_ARGUMENT', '/v1/pull')).toMatch(/^cursor: /);
    }
  });
});

describe('endpoints', () => {
  it('answers unknown paths 404 and wrong methods 405, with error bodies', async () => {
    for (const path of ['/', '/v1', '/v2/push', '/v1/push/x', '/v1/PUSH']) {
      const r = await s.api.fail(path, { method: 'GET' });
      expect([r.status, r.error.code]).toEqual([404, 'INVALID_ARGUMENT']);
    }
    const wrong: [string, string, string][] = [
      ['/v1/push', 'GET', 'POST'],
      ['/v1/push', 'PUT', 'POST'],
      ['/v1/pull', 'DELETE', 'POST'],
      ['/v1/live', 'POST', 'GET'],
    ];
    for (const [path, method, allowed] of wrong) {
      const r = await s.api.fail(path, { method });
      expect([r.status, r.error.code]).toEqual([405, 'INVALID_ARGUMENT']);
      expect(r.headers.get('allow')).toBe(`${allowed}, OPTIONS`);
    }
  });

  it('answers CORS preflights and health checks', async () => {
    const pre = await s.api.raw('/v1/push', {
      method: 'OPTIONS',
      headers: { origin: 'https://app.example', 'access-control-request-method': 'POST' },
    });
    expect(pre.status).toBe(204);
    expect(pre.headers.get('access-control-allow-origin')).toBe('*');
    expect(pre.headers.get('access-control-allow-headers')).toBe('authorization, content-type');
    const health = await s.api.raw('/v1/health', { method: 'GET' });
    expect([health.status, await health.json()]).toEqual([200, { ok: true }]);
  });

  it('survives garbage on the socket and keeps serving', async () => {
    const { port } = new URL(s.url);
    const reply = await new Promise<string>((resolve, reject) => {
      const socket = netConnect(Number(port), '127.0.0.1', () => socket.write('NOT HTTP AT ALL\r\n\r\n'));
      let text = '';
      socket.on('data', (d) => (text += d.toString()));
      socket.on('end', () => resolve(text));
      socket.on('error', reject);
    });
    expect(reply).toMatch(/^HTTP\/1\.1 400/);
  });
});

describe('afterwards', () => {
  it('stored nothing of any refused request, logged no failure, and still serves', async () => {
    expect(await countEvents(db)).toBe(before);
    expect(s.log.lines.filter((l) => l.startsWith('error'))).toEqual([]);
    expect((await s.api.push(good())).results[0]!.status).toBe('ok');
  });
});
