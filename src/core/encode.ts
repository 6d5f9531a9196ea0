/**
 * Validation and encoding of appends, and decoding of stored events. The page runs the
 * encoder before anything crosses to the worker (so a bad event fails where it was made,
 * and nothing that cannot be cloned is posted); the engine re-checks the cheap invariants.
 */
import { monotonicFactory } from 'ulid';
import { InvalidArgumentError, InvalidEventError, InvalidStreamError } from './errors.ts';
import { MAX_STREAM_LENGTH, MAX_TYPE_LENGTH } from './limits.ts';
import type { AppendRequest, EncodedEvent, StoredEvent } from './records.ts';
import type { AppendOptions, EventInput, ExpectedVersion, Metadata, RecordedEvent } from './types.ts';

/** Makes ULIDs that sort in creation order, even within one millisecond. */
export type IdFactory = () => string;

/** A monotonic ULID factory. */
export function createIdFactory(): IdFactory {
  const factory = monotonicFactory(pooledRandom());
  return () => factory();
}

/**
 * A PRNG for `ulid` that takes its bytes from one crypto.getRandomValues call per 256 of
 * them. ulid's own draws one byte per call (a call and a Uint8Array for each of the 16
 * random characters of an id made in a new millisecond); in a page that cost ~70 us per id,
 * which a single awaited append pays every time. Same source, same distribution.
 */
function pooledRandom(): (() => number) | undefined {
  const crypto = (globalThis as { crypto?: Crypto }).crypto;
  if (typeof crypto?.getRandomValues !== 'function') return undefined; // ulid finds its own
  const pool = new Uint8Array(256);
  let next = pool.length;
  return () => {
    if (next === pool.length) {
      crypto.getRandomValues(pool);
      next = 0;
    }
    return pool[next++]! / 256;
  };
}

/** Throws `INVALID_STREAM` unless `stream` is a usable stream name. */
export function validateStream(stream: unknown): asserts stream is string {
  if (typeof stream !== 'string') {
    throw new InvalidStreamError(String(stream), `A stream name must be a string, got ${typeof stream}`);
  }
  if (stream.length === 0) throw new InvalidStreamError(stream, 'A stream name must not be empty');
  if (stream.length > MAX_STREAM_LENGTH) {
    throw new InvalidStreamError(
      stream,
      `A stream name must be at most ${MAX_STREAM_LENGTH} characters, got ${stream.length}`,
    );
  }
  // C0 and C1 control characters, DEL included.
  if (/[\u0000-\u001f\u007f-\u009f]/.test(stream)) {
    throw new InvalidStreamError(stream, `A stream name must not contain control characters: ${JSON.stringify(stream)}`);
  }
}

/** The category of a stream: the part before its first '-', or the whole name. */
export function categoryOf(stream: string): string {
  const dash = stream.indexOf('-');
  return dash === -1 ? stream : stream.slice(0, dash);
}

const ULID = /^[0-7][0-9A-HJKMNP-TV-Z]{25}$/;

/** True when `id` is a ULID in canonical upper case. */
export function isUlid(id: unknown): id is string {
  return typeof id === 'string' && ULID.test(id);
}

/** Checks the expected-version option. */
export function validateExpectedVersion(v: unknown): ExpectedVersion {
  if (v === undefined) return 'any';
  if (v === 'any' || v === 'no_stream' || v === 'stream_exists') return v;
  if (typeof v === 'number' && Number.isSafeInteger(v) && v >= 0) return v;
  throw new InvalidArgumentError(
    `expectedVersion must be 'any', 'no_stream', 'stream_exists' or a version number >= 0, got ${String(v)}`,
  );
}

/** Validates and serialises one stream's append. */
export function encodeAppend(
  stream: string,
  events: readonly EventInput[],
  options: AppendOptions | undefined,
  nextId: IdFactory,
  maxEventBytes: number,
  schemaVersionOf: (type: string) => number = () => 1,
): AppendRequest {
  validateStream(stream);
  if (!Array.isArray(events) || events.length === 0) {
    throw new InvalidEventError('An append needs a non-empty array of events');
  }
  const routingKey = options?.routingKey;
  if (routingKey !== undefined && (typeof routingKey !== 'string' || routingKey.length === 0)) {
    throw new InvalidArgumentError('routingKey must be a non-empty string');
  }
  return {
    stream,
    events: events.map((e, i) => encodeEvent(e, i, nextId, maxEventBytes, schemaVersionOf)),
    expectedVersion: validateExpectedVersion(options?.expectedVersion),
    routingKey: routingKey ?? null,
  };
}

/** Validates and serialises one event. */
export function encodeEvent(
  event: EventInput,
  index: number,
  nextId: IdFactory,
  maxEventBytes: number,
  schemaVersionOf: (type: string) => number = () => 1,
): EncodedEvent {
  if (typeof event !== 'object' || event === null) {
    throw new InvalidEventError(`Event ${index} must be an object`, index);
  }
  const { type, data, metadata, id, schemaVersion } = event;
  if (typeof type !== 'string' || type.length === 0) {
    throw new InvalidEventError(`Event ${index} needs a non-empty string type`, index);
  }
  if (type.length > MAX_TYPE_LENGTH) {
    throw new InvalidEventError(`Event ${index} has a type longer than ${MAX_TYPE_LENGTH} characters`, index);
  }
  let eventId: string;
  if (id === undefined) {
    eventId = nextId();
  } else {
    const upper = typeof id === 'string' ? id.toUpperCase() : id;
    if (!isUlid(upper)) throw new InvalidEventError(`Event ${index} has an id that is not a ULID: ${String(id)}`, index);
    eventId = upper;
  }
  if (schemaVersion !== undefined && !(Number.isSafeInteger(schemaVersion) && schemaVersion >= 1)) {
    throw new InvalidEventError(`Event ${index} has a schemaVersion that is not an integer >= 1`, index);
  }
  const dataJson = toStrictJson(data === undefined ? null : data, `event ${index} data`, index);
  let metadataJson: string | null = null;
  if (metadata !== undefined && metadata !== null) {
    if (!isPlainObject(metadata)) throw new InvalidEventError(`Event ${index} metadata must be a plain object`, index);
    metadataJson = toStrictJson(metadata, `event ${index} metadata`, index);
  }
  checkSize(dataJson, metadataJson, maxEventBytes, index);
  return { id: eventId, type, data: dataJson, metadata: metadataJson, schemaVersion: schemaVersion ?? schemaVersionOf(type) };
}

/** Re-checks, on the engine's side of a boundary, what an encoded append must satisfy. */
export function checkEncodedAppend(req: AppendRequest, maxEventBytes: number): void {
  validateStream(req.stream);
  validateExpectedVersion(req.expectedVersion);
  if (!Array.isArray(req.events) || req.events.length === 0) {
    throw new InvalidEventError('An append needs a non-empty array of events');
  }
  for (let i = 0; i < req.events.length; i++) {
    const e = req.events[i]!;
    if (typeof e.type !== 'string' || e.type.length === 0 || e.type.length > MAX_TYPE_LENGTH) {
      throw new InvalidEventError(`Event ${i} needs a non-empty string type`, i);
    }
    if (!isUlid(e.id)) throw new InvalidEventError(`Event ${i} has an id that is not a ULID: ${String(e.id)}`, i);
    if (typeof e.data !== 'string' || (e.metadata !== null && typeof e.metadata !== 'string')) {
      throw new InvalidEventError(`Event ${i} is not encoded`, i);
    }
    checkSize(e.data, e.metadata, maxEventBytes, i);
  }
}

/** Turns a stored event into the recorded event users see. */
export function decodeEvent(e: StoredEvent): RecordedEvent {
  return {
    id: e.id,
    stream: e.stream,
    category: e.category,
    version: e.version,
    position: e.position,
    type: e.type,
    data: JSON.parse(e.data) as unknown,
    metadata: e.metadata === null ? {} : (JSON.parse(e.metadata) as Metadata),
    routingKey: e.routingKey,
    timestamp: e.timestamp,
    schemaVersion: e.schemaVersion,
  };
}

/**
 * JSON.stringify, but refusing what JSON cannot carry faithfully: functions, symbols,
 * BigInt, NaN and the infinities, cycles, `undefined` in arrays, and objects that are not
 * plain (Date, Map, class instances), which would not read back as they were written.
 * `undefined` object properties are dropped, as JSON.stringify does.
 */
export function toStrictJson(value: unknown, what: string, index?: number): string {
  checkJson(value, what, new Set(), index);
  return JSON.stringify(value);
}

function checkJson(value: unknown, path: string, seen: Set<object>, index: number | undefined): void {
  switch (typeof value) {
    case 'string':
    case 'boolean':
      return;
    case 'number':
      if (!Number.isFinite(value)) throw new InvalidEventError(`${path} is ${value}, which JSON cannot hold`, index);
      return;
    case 'object': {
      if (value === null) return;
      if (seen.has(value)) throw new InvalidEventError(`${path} contains a cycle`, index);
      seen.add(value);
      if (Array.isArray(value)) {
        for (let i = 0; i < value.length; i++) {
          const item: unknown = value[i];
          if (item === undefined) throw new InvalidEventError(`${path}[${i}] is undefined`, index);
          checkJson(item, `${path}[${i}]`, seen, index);
        }
      } else {
        if (!isPlainObject(value)) {
          const name = (value as { constructor?: { name?: string } }).constructor?.name ?? 'object';
          throw new InvalidEventError(`${path} is a ${name}, not a plain object`, index);
        }
        for (const key in value) {
          const item = (value as Record<string, unknown>)[key];
          if (item !== undefined) checkJson(item, `${path}.${key}`, seen, index);
        }
      }
      seen.delete(value);
      return;
    }
    default:
      throw new InvalidEventError(`${path} is a ${typeof value}, which JSON cannot hold`, index);
  }
}

function checkSize(data: string, metadata: string | null, maxBytes: number, index: number): void {
  const units = data.length + (metadata?.length ?? 0);
  if (units * 3 <= maxBytes) return; // no UTF-16 unit takes more than 3 UTF-8 bytes
  const size = utf8Length(data) + (metadata === null ? 0 : utf8Length(metadata));
  if (size > maxBytes) {
    throw new InvalidEventError(`Event ${index} is ${size} bytes of data and metadata, over the limit of ${maxBytes}`, index);
  }
}

function isPlainObject(value: unknown): value is Record<string, unknown> {
  if (typeof value !== 'object' || value === null) return false;
  const proto: unknown = Object.getPrototypeOf(value);
  return proto === Object.prototype || proto === null;
}

/** The UTF-8 length of a string, without allocating for the common all-small case. */
export function utf8Length(s: string): number {
  let bytes = s.length;
  for (let i = 0; i < s.length; i++) {
    const c = s.charCodeAt(i);
    if (c < 0x80) continue;
    if (c < 0x800) bytes += 1;
    else if (c >= 0xd800 && c <= 0xdbff) {
      bytes += 2; // a surrogate pair: 2 code units, 4 bytes
      i++;
    } else bytes += 2;
  }
  return bytes;
}
