import { describe, expect, it } from 'vitest';
import {
  MAX_PUSH_BATCHES,
  MAX_PUSH_EVENTS,
  parseErrorBody,
  parsePullRequest,
  parsePullResponse,
  parsePushRequest,
  parsePushResponse,
  type PushRequest,
  type SyncEvent,
} from '../../src/sync/protocol.ts';
import { SseParser, readServerSentEvents, type ServerSentEvent } from '../../src/sync/sse.ts';
import {
  SyncRejectedError,
  UnauthorizedError,
  isSyncRejected,
  isUnauthorized,
  type CairnError,
} from '../../src/core/errors.ts';
import { deserializeError, serializeError } from '../../src/protocol/error-codec.ts';

const CLIENT = '01HZZZZZZZZZZZZZZZZZZZZZZZ';
let seq = 0;
function id(): string {
  return `01J${String(seq++).padStart(23, '0')}`;
}
function event(over: Partial<SyncEvent> = {}): SyncEvent {
  return { id: id(), type: 'Added', data: '{"n":1}', metadata: null, schemaVersion: 1, timestamp: 1_700_000_000_000, ...over };
}
function push(events: SyncEvent[] = [event()], extra: Record<string, unknown> = {}): PushRequest {
  return {
    client: CLIENT,
    batches: [{ appends: [{ stream: 'cart-1', expectedVersion: 'any', routingKey: null, events, ...extra }] }],
  };
}
function failure(f: () => unknown): CairnError {
  try {
    f();
  } catch (e) {
    return e as CairnError;
  }
  throw new Error('did not throw');
}

describe('push request validation', () => {
  it('accepts a well-formed push and returns it unchanged', () => {
    const p = push([event(), event({ metadata: '{"correlationId":"c"}', data: '[1,"\\ud800"]' })]);
    expect(parsePushRequest(structuredClone(p))).toEqual(p);
    expect(parsePushRequest({ client: '3b241101-e2bb-4255-8caf-4136c566a962', batches: [] }).batches).toEqual([]);
  });

  it('names the path of the offending value, with the store error code', () => {
    const p = push([event(), event({ id: 'nope' })]);
    const e = failure(() => parsePushRequest(p));
    expect(e.code).toBe('INVALID_EVENT');
    expect(e.message).toMatch(/^batches\[0\]\.appends\[0\]\.events\[1\]\.id: must be a ULID/);
    expect((e as { index?: number }).index).toBe(1);

    const lower = push([event({ id: id().toLowerCase() })]);
    expect(failure(() => parsePushRequest(lower)).code).toBe('INVALID_EVENT');

    const s = failure(() => parsePushRequest(push(undefined, { stream: 'bad\u0001name' })));
    expect(s.code).toBe('INVALID_STREAM');
    expect(s.message).toMatch(/^batches\[0\]\.appends\[0\]\.stream: A stream name must not contain control characters/);
    expect(failure(() => parsePushRequest(push(undefined, { stream: '' }))).code).toBe('INVALID_STREAM');
    expect(failure(() => parsePushRequest(push(undefined, { stream: 'x'.repeat(201) }))).code).toBe('INVALID_STREAM');

    const v = failure(() => parsePushRequest(push(undefined, { expectedVersion: -1 })));
    expect(v.code).toBe('INVALID_ARGUMENT');
    expect(v.message).toMatch(/^batches\[0\]\.appends\[0\]\.expectedVersion: /);
    expect(failure(() => parsePushRequest(push(undefined, { expectedVersion: 'latest' }))).message).toMatch(
      /expectedVersion: must be 'any', 'no_stream', 'stream_exists' or a version number >= 0/,
    );
    expect(failure(() => parsePushRequest({ ...push(), client: 'me' })).message).toMatch(/^client: must be the device's id/);
  });

  it('refuses unknown and missing fields and wrong types', () => {
    const unknown = failure(() => parsePushRequest({ ...push(), extra: 1 }));
    expect(unknown.code).toBe('INVALID_ARGUMENT');
    expect(unknown.message).toBe('extra: is not a field of this message');
    const inEvent = failure(() => parsePushRequest(push([{ ...event(), position: 3 } as SyncEvent])));
    expect(inEvent.message).toBe('batches[0].appends[0].events[0].position: is not a field of this message');
    expect(inEvent.code).toBe('INVALID_EVENT');
    const { data: _, ...noData } = event();
    expect(failure(() => parsePushRequest(push([noData as SyncEvent]))).message).toBe(
      'batches[0].appends[0].events[0].data: is missing',
    );
    expect(failure(() => parsePushRequest(push([event({ timestamp: '1' as unknown as number })]))).message).toBe(
      'batches[0].appends[0].events[0].timestamp: must be a number, got "1"',
    );
    expect(failure(() => parsePushRequest([])).message).toBe('push request: must be an object, got an array');
    expect(failure(() => parsePushRequest(push([event({ schemaVersion: 0 })]))).code).toBe('INVALID_EVENT');
    expect(failure(() => parsePushRequest(push([event({ schemaVersion: 1.5 })]))).code).toBe('INVALID_EVENT');
    expect(failure(() => parsePushRequest(push([]))).message).toMatch(/events: must hold at least one event/);
    expect(failure(() => parsePushRequest({ client: CLIENT, batches: [{ appends: [] }] })).message).toMatch(
      /^batches\[0\]\.appends: must hold at least one append/,
    );
  });

  it('checks data and metadata are JSON text, and sizes', () => {
    expect(failure(() => parsePushRequest(push([event({ data: '{' })]))).message).toMatch(/data: must be JSON text/);
    expect(failure(() => parsePushRequest(push([event({ data: '' })]))).code).toBe('INVALID_EVENT');
    expect(failure(() => parsePushRequest(push([event({ metadata: '[1]' })]))).message).toMatch(
      /metadata: must be null or the JSON text of an object/,
    );
    expect(failure(() => parsePushRequest(push([event({ metadata: 'null' })]))).code).toBe('INVALID_EVENT');
    const big = JSON.stringify('x'.repeat(600_000));
    expect(parsePushRequest(push([event({ data: big })])).batches).toHaveLength(1);
    const tooBig = failure(() => parsePushRequest(push([event({ data: big, metadata: JSON.stringify({ m: 'é'.repeat(300_000) }) })])));
    expect(tooBig.code).toBe('INVALID_EVENT');
    expect(tooBig.message).toMatch(/^batches\[0\]\.appends\[0\]\.events\[0\]: is \d+ bytes of data and metadata, over the limit of 1048576$/);
    expect(failure(() => parsePushRequest(push([event({ data: '"abcdef"' })]), { maxEventBytes: 4 })).code).toBe(
      'INVALID_EVENT',
    );
  });

  it('refuses lone surrogates and U+0000 where PostgreSQL text could not hold them faithfully', () => {
    const cases: [Partial<SyncEvent> | Record<string, unknown>, 'event' | 'append', RegExp][] = [
      [{ type: 'A\ud800' }, 'event', /type: must be well-formed UTF-16/],
      [{ type: 'A\u0000' }, 'event', /type: must not contain U\+0000/],
      [{ data: '"\udc00"' }, 'event', /data: must be well-formed UTF-16/],
      [{ metadata: '{"a":"\ud83d"}' }, 'event', /metadata: must be well-formed UTF-16/],
      [{ routingKey: 'eu\udfff' }, 'append', /routingKey: must be well-formed UTF-16/],
      [{ stream: 'cart-\ud800' }, 'append', /stream: A stream name must be well-formed/],
    ];
    for (const [over, where, message] of cases) {
      const p = where === 'event' ? push([event(over as Partial<SyncEvent>)]) : push(undefined, over);
      expect(failure(() => parsePushRequest(p)).message).toMatch(message);
    }
    expect(parsePushRequest(push([event({ type: 'Emoji😀', data: '"😀"' })])).batches).toHaveLength(1);
    expect(failure(() => parsePushRequest({ client: `${CLIENT.slice(0, 25)}\ud800`, batches: [] })).code).toBe(
      'INVALID_ARGUMENT',
    );
  });

  it('bounds batches and events, and refuses an id twice in one push', () => {
    const batches = Array.from({ length: MAX_PUSH_BATCHES + 1 }, () => push().batches[0]!);
    expect(failure(() => parsePushRequest({ client: CLIENT, batches })).message).toBe(
      `batches: must hold at most ${MAX_PUSH_BATCHES} batches`,
    );
    // Over several batches, the push limit; one append, the device's own limit; one batch of
    // several appends may pass the push limit whole.
    const half = () => Array.from({ length: MAX_PUSH_EVENTS / 2 + 1 }, () => event());
    expect(failure(() => parsePushRequest({ client: CLIENT, batches: [push(half()).batches[0]!, push(half()).batches[0]!] })).message).toBe(
      `push request: holds ${MAX_PUSH_EVENTS + 2} events in 2 batches, over the limit of ${MAX_PUSH_EVENTS}`,
    );
    const long = Array.from({ length: MAX_PUSH_EVENTS + 1 }, () => event());
    expect(failure(() => parsePushRequest(push(long))).message).toMatch(/^batches\[0\]\.appends\[0\]\.events: must hold at most 10000 events/);
    const one = push(half()).batches[0]!;
    const whole: PushRequest = { client: CLIENT, batches: [{ appends: [...one.appends, { ...push(half()).batches[0]!.appends[0]!, stream: 'other-1' }] }] };
    expect(parsePushRequest(whole).batches[0]!.appends).toHaveLength(2);
    const e = event();
    const twice: PushRequest = { client: CLIENT, batches: [push([e]).batches[0]!, push([event(), { ...e }]).batches[0]!] };
    const dup = failure(() => parsePushRequest(twice));
    expect(dup.code).toBe('INVALID_EVENT');
    expect(dup.message).toBe(
      `batches[1].appends[0].events[1].id: the id ${e.id} is also at batches[0].appends[0].events[0].id; ids are unique`,
    );
  });
});

describe('pull request validation', () => {
  it('accepts the documented shapes', () => {
    expect(parsePullRequest({ cursor: null })).toEqual({ cursor: null });
    const full = { cursor: 'abc', limit: 10, filter: { categories: ['cart'], streams: ['order-1'] } };
    expect(parsePullRequest(full)).toEqual(full);
    expect(parsePullRequest({ cursor: null, filter: {} })).toEqual({ cursor: null, filter: {} });
  });

  it('refuses bad limits, filters and fields', () => {
    expect(failure(() => parsePullRequest({ cursor: null, limit: 0 })).message).toBe('limit: limit must be >= 1');
    expect(failure(() => parsePullRequest({ cursor: null, limit: 10_001 })).code).toBe('INVALID_ARGUMENT');
    expect(failure(() => parsePullRequest({})).message).toBe('cursor: is missing');
    expect(failure(() => parsePullRequest({ cursor: null, limit: undefined })).code).toBe('INVALID_ARGUMENT');
    const s = failure(() => parsePullRequest({ cursor: null, filter: { streams: ['ok', ''] } }));
    expect(s.code).toBe('INVALID_STREAM');
    expect(s.message).toBe('filter.streams[1]: A stream name must not be empty');
    expect(failure(() => parsePullRequest({ cursor: null, filter: { categories: ['a-b'] } })).message).toMatch(
      /^filter\.categories\[0\]: A category is the part/,
    );
    expect(failure(() => parsePullRequest({ cursor: null, filter: { types: ['x'] } })).message).toBe(
      'filter.types: is not a field of this message',
    );
    expect(failure(() => parsePullRequest({ cursor: 'a\ud800' })).message).toMatch(/^cursor: must be well-formed/);
  });
});

describe('responses', () => {
  it('validates push and pull responses and error bodies', () => {
    const p = push();
    const ok = {
      results: [{ status: 'ok', appends: [{ stream: 'cart-1', version: 1, events: [{ id: p.batches[0]!.appends[0]!.events[0]!.id, version: 1, serverPosition: 7 }] }] }],
    };
    expect(parsePushResponse(ok, p)).toEqual(ok);
    expect(failure(() => parsePushResponse({ results: [] }, p)).message).toBe('push response: holds 0 results for 1 batches');
    expect(parsePushResponse({ results: [{ status: 'conflict', stream: 's', expected: 3, actual: 5 }] }).results[0]).toMatchObject({
      actual: 5,
    });
    expect(failure(() => parsePushResponse({ results: [{ status: 'maybe' }] })).message).toMatch(/^results\[0\]\.status: must be one of/);
    const e = event();
    const server = { ...e, stream: 'cart-1', category: 'cart', version: 1, routingKey: null, serverPosition: 1 };
    expect(parsePullResponse({ events: [server], cursor: 'c', more: false }).events[0]).toEqual(server);
    expect(failure(() => parsePullResponse({ events: [{ ...server, category: 'x' }], cursor: 'c', more: false })).code).toBe(
      'INVALID_EVENT',
    );
    const { stack: _stack, ...error } = serializeError(new SyncRejectedError('no', 'secret-1'));
    const body = { error };
    const rebuilt = deserializeError(parseErrorBody(JSON.parse(JSON.stringify(body))));
    expect(rebuilt).toBeInstanceOf(SyncRejectedError);
    expect(isSyncRejected(rebuilt)).toBe(true);
    expect(rebuilt).toMatchObject({ code: 'SYNC_REJECTED', stream: 'secret-1', message: 'no' });
    expect(parseErrorBody({ error: { code: 'FROM_THE_FUTURE', message: 'm', fields: {} } }).code).toBe('INTERNAL');
  });

  it('round-trips the two sync error classes through the codec', () => {
    const unauthorized = deserializeError(serializeError(new UnauthorizedError('bad token')));
    expect(unauthorized).toBeInstanceOf(UnauthorizedError);
    expect(isUnauthorized(unauthorized)).toBe(true);
    const rejected = deserializeError(serializeError(new SyncRejectedError('too large')));
    expect(rejected).toBeInstanceOf(SyncRejectedError);
    expect((rejected as SyncRejectedError).stream).toBeUndefined();
  });
});

describe('server-sent events', () => {
  function parseAll(pieces: string[]): ServerSentEvent[] {
    const out: ServerSentEvent[] = [];
    const p = new SseParser((e) => out.push(e));
    for (const piece of pieces) p.feed(piece);
    p.end();
    return out;
  }

  it('parses events, comments, multi-line data and every line ending, in any split', () => {
    const text = '\ufeff: hello\r\nevent: ready\r\ndata: {}\r\n\r\nevent: poke\rdata: a\rdata:b\r\rid: 7\ndata: x\n\nevent: empty\n\ndata: tail';
    const expected = [
      { event: 'ready', data: '{}', id: undefined },
      { event: 'poke', data: 'a\nb', id: undefined },
      { event: 'message', data: 'x', id: '7' },
    ];
    expect(parseAll([text])).toEqual(expected);
    for (let cut = 1; cut < text.length; cut++) {
      expect(parseAll([text.slice(0, cut), text.slice(cut)])).toEqual(expected);
    }
    expect(parseAll(text.split(''))).toEqual(expected);
  });

  it('reads a byte stream until it ends, splitting multi-byte characters anywhere', async () => {
    const bytes = new TextEncoder().encode('event: poke\ndata: é😀\n\n: beat\n\nevent: poke\ndata: 2\n\n');
    const body = new ReadableStream<Uint8Array>({
      start(c) {
        for (let i = 0; i < bytes.length; i += 3) c.enqueue(bytes.slice(i, i + 3));
        c.close();
      },
    });
    const got: ServerSentEvent[] = [];
    for await (const e of readServerSentEvents(body)) got.push(e);
    expect(got.map((e) => e.data)).toEqual(['é😀', '2']);
  });
});
