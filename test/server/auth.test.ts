/**
 * Authorization over HTTP: 401 without or with a bad token, 403 for a push touching a stream
 * the caller may not write (nothing of it stored), pulls limited by canRead, and tenants that
 * never see each other's events, cursors or ids.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { SyncAccess } from '../../server/auth.ts';
import { append, countEvents, createDatabase, ev, newClient, openLive, pushOf, startServer, type Running } from './helpers.ts';

let db: string;
let s: Running;
const users: Record<string, SyncAccess> = {
  alice: {
    tenant: 'acme',
    canRead: (stream) => !stream.startsWith('secret-'),
    canWrite: (stream) => !stream.startsWith('audit-') && !stream.startsWith('secret-'),
  },
  bob: { tenant: 'acme' },
  eve: { tenant: 'evil' },
};
beforeAll(async () => {
  db = await createDatabase();
  s = await startServer({
    database: db,
    authorize: async (request) => {
      if (request.token === 'throws') throw new Error('the user service is down');
      if (request.token === 'bad-tenant') return { tenant: '' };
      return request.token === null ? null : (users[request.token] ?? null);
    },
  });
});
afterAll(async () => {
  await s?.server.close();
});

const body = (value: unknown): RequestInit => ({
  method: 'POST',
  body: JSON.stringify(value),
  headers: { 'content-type': 'application/json' },
});

describe('authentication', () => {
  it('answers 401 UNAUTHORIZED without a token, with a bad one, or when authorize throws, and writes nothing', async () => {
    const push = pushOf(newClient(), [append('cart-1', [ev()])]);
    const cases: { token?: string; headers?: Record<string, string> }[] = [
      {},
      { token: 'mallory' },
      { token: 'throws' },
      { headers: { authorization: 'Basic YWxpY2U6cHc=' } },
      { headers: { authorization: 'Bearer' } },
    ];
    for (const c of cases) {
      for (const [path, init] of [
        ['/v1/push', body(push)],
        ['/v1/pull', body({ cursor: null })],
        ['/v1/live', { method: 'GET' }],
      ] as const) {
        const r = await s.api.fail(path, { ...init, ...c, headers: { ...(init.headers as object), ...c.headers } });
        expect(r.status, `${path} ${JSON.stringify(c)}`).toBe(401);
        expect(r.error.code).toBe('UNAUTHORIZED');
        expect(r.headers.get('www-authenticate')).toBe('Bearer');
      }
    }
    expect(await countEvents(db, 'acme')).toBe(0);
    expect(s.log.lines.some((l) => l.includes('authorize threw'))).toBe(true);
  });

  it('answers 500 INTERNAL when authorize returns no usable tenant', async () => {
    const r = await s.api.fail('/v1/pull', { ...body({ cursor: null }), token: 'bad-tenant' });
    expect([r.status, r.error.code]).toEqual([500, 'INTERNAL']);
    expect(r.error.message).toBe('Internal server error'); // the detail stays in the log
    expect(s.log.lines.some((l) => l.startsWith('error') && l.includes('invalid tenant'))).toBe(true);
  });
});

describe('authorization', () => {
  it('refuses a push touching a stream the caller may not write with 403, storing nothing of it', async () => {
    const before = await countEvents(db, 'acme');
    const push = pushOf(
      newClient(),
      [append('cart-1', [ev()])], // allowed
      [append('order-1', [ev()]), append('audit-1', [ev()])], // audit-1 is not
    );
    const r = await s.api.fail('/v1/push', { ...body(push), token: 'alice' });
    expect(r.status).toBe(403);
    expect(r.error).toMatchObject({ code: 'SYNC_REJECTED', fields: { stream: 'audit-1' } });
    expect(r.error.message).toMatch(/audit-1.*nothing of this push was stored/);
    expect(await countEvents(db, 'acme')).toBe(before);
    // Bob may write it.
    expect((await s.api.push(push, 'bob')).results.map((x) => x.status)).toEqual(['ok', 'ok']);
  });

  it('pulls only what canRead allows; the cursor moves past what it skips', async () => {
    const start = (await s.api.pullAll({}, 'alice')).cursor;
    await s.api.push(
      pushOf(
        newClient(),
        [append('secret-1', [ev(), ev(), ev()])],
        [append('note-1', [ev('Visible')])],
        [append('secret-2', [ev()])],
        [append('note-1', [ev('Visible')])],
        [append('secret-3', [ev(), ev()])],
      ),
      'bob',
    );
    const p1 = await s.api.pull({ cursor: start, limit: 1 }, 'alice');
    expect(p1.events.map((e) => e.stream)).toEqual(['note-1']);
    expect(p1.more).toBe(true);
    const p2 = await s.api.pull({ cursor: p1.cursor, limit: 1 }, 'alice');
    expect(p2.events.map((e) => [e.stream, e.version])).toEqual([['note-1', 2]]);
    expect(p2.more).toBe(false); // only unreadable events follow: skipped, not "more"
    const p3 = await s.api.pull({ cursor: p2.cursor }, 'alice');
    expect(p3).toEqual({ events: [], cursor: p3.cursor, more: false });
    // Bob reads everything from the same point.
    const bobs = await s.api.pullAll({ cursor: null }, 'bob');
    expect(bobs.events.filter((e) => e.stream.startsWith('secret-'))).toHaveLength(6);
    // An explicit filter cannot get around canRead.
    const filtered = await s.api.pullAll({ cursor: null, filter: { categories: ['secret'] } }, 'alice');
    expect(filtered.events).toEqual([]);
  });

  it('keeps tenants apart: events, versions, ids and cursors', async () => {
    const shared = ev('Mine');
    const acme = await s.api.push(pushOf(newClient(), [append('iso-1', [shared, ev()], 'no_stream')]), 'bob');
    expect(acme.results[0]).toMatchObject({ status: 'ok', appends: [{ version: 2 }] });
    // The same stream and the same event id in another tenant are another stream and another event.
    const evil = await s.api.push(pushOf(newClient(), [append('iso-1', [{ ...shared, type: 'Theirs' }], 'no_stream')]), 'eve');
    expect(evil.results[0]).toMatchObject({ status: 'ok', appends: [{ version: 1 }] });
    const evilEvents = (await s.api.pullAll({ cursor: null }, 'eve')).events;
    expect(evilEvents.map((e) => [e.stream, e.type, e.version])).toEqual([['iso-1', 'Theirs', 1]]);
    const acmeEvents = (await s.api.pullAll({ cursor: null }, 'bob')).events;
    expect(acmeEvents.some((e) => e.type === 'Theirs')).toBe(false);
    expect(acmeEvents.filter((e) => e.id === shared.id).map((e) => e.type)).toEqual(['Mine']);
    // A cursor of one tenant is refused in the other.
    const acmeCursor = (await s.api.pull({ cursor: null, limit: 1 }, 'bob')).cursor;
    const refused = await s.api.fail('/v1/pull', { ...body({ cursor: acmeCursor }), token: 'eve' });
    expect(refused.status).toBe(400);
    expect(refused.error).toMatchObject({ code: 'INVALID_ARGUMENT', message: 'cursor: this cursor belongs to another tenant' });
    // A live stream of one tenant is not poked by the other's pushes.
    const live = await openLive(s.url, 'eve');
    try {
      await live.next('ready');
      await s.api.push(pushOf(newClient(), [append('iso-2', [ev()])]), 'bob');
      expect(await live.arrives('poke', 300)).toBe(false);
      await s.api.push(pushOf(newClient(), [append('iso-2', [ev()])]), 'eve');
      await live.next('poke');
    } finally {
      live.close();
    }
  });
});

describe('open server', () => {
  it('without authorize, serves everyone in tenant default and warns so', async () => {
    const open = await startServer({ database: db });
    try {
      expect(open.log.lines.some((l) => l.startsWith('warn') && /open to everyone/.test(l))).toBe(true);
      await open.api.push(pushOf(newClient(), [append('open-1', [ev()])]));
      expect(await countEvents(db, 'default')).toBe(1);
      // The same database, another tenant: acme's events are not visible here.
      const { events } = await open.api.pullAll({ cursor: null });
      expect(events.map((e) => e.stream)).toEqual(['open-1']);
    } finally {
      await open.server.close();
    }
  });
});
