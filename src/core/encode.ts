/**
 * Validation and encoding of appends, and decoding of stored events. The page runs the
 * encoder before anything crosses to the worker (so a bad event fails where it was made,
 * and nothing that cannot be cloned is posted); the engine re-checks the cheap invariants.
 */
import { monotonicFactory } from 'ulid';
import { InvalidEventError } from './errors.ts';
import { MAX_EVENTS_PER_APPEND, MAX_JSON_DEPTH } from './limits.ts';
import type { AppendRequest, EncodedEvent, StoredEvent } from './records.ts';
import type { AppendOptions, EventInput, Metadata, RecordedEvent } from './types.ts';
import {
  checkAppendSize,
  checkEventSize,
  isUlid,
  validateExpectedVersion,
  validateRoutingKey,
  validateStream,
  validateType,
} from './validate.ts';

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

/** The category of a stream: the part before its first '-', or the whole name. */
export function categoryOf(stream: string): string {
  const dash = stream.indexOf('-');
  return dash === -1 ? stream : stream.slice(0, dash);
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
  if (events.length > MAX_EVENTS_PER_APPEND) {
    throw new InvalidEventError(`An append holds at most ${MAX_EVENTS_PER_APPEND} events, got ${events.length}`);
  }
  const routingKey = validateRoutingKey(options?.routingKey);
  const expectedVersion = validateExpectedVersion(options?.expectedVersion);
  let bytes = 0;
  const encoded = events.map((e, i) => {
    const event = encodeEvent(e, i, nextId, maxEventBytes, schemaVersionOf);
    bytes += event.data.length + (event.metadata?.length ?? 0);
    return event;
  });
  // UTF-16 units, a lower bound of the UTF-8 bytes; the engine checks the same bound.
  checkAppendSize(bytes);
  return { stream, events: encoded, expectedVersion, routingKey };
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
  validateType(type, index);
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
  checkEventSize(dataJson, metadataJson, maxEventBytes, index);
  return { id: eventId, type, data: dataJson, metadata: metadataJson, schemaVersion: schemaVersion ?? schemaVersionOf(type) };
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
    serverPosition: e.serverPosition,
  };
}

/**
 * JSON.stringify, but refusing what JSON cannot carry faithfully: functions, symbols,
 * BigInt, NaN and the infinities, cycles, `undefined` in arrays, and objects that are not
 * plain (Date, Map, class instances), which would not read back as they were written.
 * `undefined` object properties are dropped, as JSON.stringify does.
 */
export function toStrictJson(value: unknown, what: string, index?: number): string {
  checkJson(value, what, new Set(), index, 0);
  try {
    return JSON.stringify(value);
  } catch (e) {
    // Too large for one string (V8's limit is about 512 MB), or a getter that throws.
    throw new InvalidEventError(`${what} cannot be serialised: ${e instanceof Error ? e.message : String(e)}`, index);
  }
}

function checkJson(value: unknown, path: string, seen: Set<object>, index: number | undefined, depth: number): void {
  if (depth > MAX_JSON_DEPTH) throw new InvalidEventError(`${path} nests deeper than ${MAX_JSON_DEPTH} levels`, index);
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
          checkJson(item, `${path}[${i}]`, seen, index, depth + 1);
        }
      } else {
        if (!isPlainObject(value)) {
          const name = (value as { constructor?: { name?: string } }).constructor?.name ?? 'object';
          throw new InvalidEventError(`${path} is a ${name}, not a plain object`, index);
        }
        for (const key in value) {
          const item = (value as Record<string, unknown>)[key];
          if (item !== undefined) checkJson(item, `${path}.${key}`, seen, index, depth + 1);
        }
      }
      seen.delete(value);
      return;
    }
    default:
      throw new InvalidEventError(`${path} is a ${typeof value}, which JSON cannot hold`, index);
  }
}

function isPlainObject(value: unknown): value is Record<string, unknown> {
  if (typeof value !== 'object' || value === null) return false;
  const proto: unknown = Object.getPrototypeOf(value);
  return proto === Object.prototype || proto === null;
}
