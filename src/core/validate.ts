/**
 * The checks every boundary runs on what it is given. The page runs them before anything is
 * sent (so a bad call fails where it was made), and the engine runs them again on what
 * reaches it (a worker's inbox is open to any script of the origin, and a sync server's to
 * the network): nothing unchecked is ever stored, and every refusal is a typed CairnError.
 */
import { DuplicateEventIdError, InvalidArgumentError, InvalidEventError, InvalidStreamError } from './errors.ts';
import {
  MAX_APPEND_BYTES,
  MAX_EVENTS_PER_APPEND,
  MAX_FILTER_TYPES,
  MAX_STREAM_LENGTH,
  MAX_TYPE_LENGTH,
} from './limits.ts';
import type { AppendRequest, EncodedEvent } from './records.ts';
import type { EventFilter, ExpectedVersion, ReadStreamOptions, StartPosition, SyncFilter } from './types.ts';

/** True when `s` is well-formed UTF-16: no lone surrogate, which SQLite would store as U+FFFD. */
export function isWellFormed(s: string): boolean {
  const native = (s as { isWellFormed?: () => boolean }).isWellFormed;
  return typeof native === 'function' ? native.call(s) : !LONE_SURROGATE.test(s);
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
  if (!isWellFormed(stream)) {
    throw new InvalidStreamError(stream, `A stream name must be well-formed Unicode (it holds a lone surrogate): ${JSON.stringify(stream)}`);
  }
}

/** Throws `INVALID_EVENT` unless `type` is a usable event type. */
export function validateType(type: unknown, index: number): asserts type is string {
  if (typeof type !== 'string' || type.length === 0) {
    throw new InvalidEventError(`Event ${index} needs a non-empty string type`, index);
  }
  if (type.length > MAX_TYPE_LENGTH) {
    throw new InvalidEventError(`Event ${index} has a type longer than ${MAX_TYPE_LENGTH} characters`, index);
  }
  if (!isWellFormed(type)) {
    throw new InvalidEventError(`Event ${index} has a type that is not well-formed Unicode (a lone surrogate)`, index);
  }
  // NUL cannot be stored faithfully everywhere an event goes (PostgreSQL text, C strings).
  if (type.includes('\u0000')) throw new InvalidEventError(`Event ${index} has a type that holds U+0000`, index);
}

/** Checks a routing key: null (none) or a non-empty, well-formed string. */
export function validateRoutingKey(key: unknown): string | null {
  if (key === null || key === undefined) return null;
  if (typeof key !== 'string' || key.length === 0 || key.length > MAX_STREAM_LENGTH || !isWellFormed(key) || key.includes('\u0000')) {
    throw new InvalidArgumentError(
      `routingKey must be a non-empty, well-formed string of at most ${MAX_STREAM_LENGTH} characters, without U+0000`,
    );
  }
  return key;
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

const ULID = /^[0-7][0-9A-HJKMNP-TV-Z]{25}$/;

/** True when `id` is a ULID in canonical upper case. */
export function isUlid(id: unknown): id is string {
  return typeof id === 'string' && ULID.test(id);
}

/** Checks a filter: an object of known fields, each of the right kind. */
export function validateFilter(filter: unknown): EventFilter {
  if (filter === undefined) return {};
  if (typeof filter !== 'object' || filter === null || Array.isArray(filter)) {
    throw new InvalidArgumentError(`A filter must be an object, got ${filter === null ? 'null' : typeof filter}`);
  }
  const f = filter as Record<string, unknown>;
  for (const key of Object.keys(f)) {
    if (!FILTER_KEYS.has(key)) throw new InvalidArgumentError(`Unknown filter field "${key}"; a filter has stream, category, types and routingKey`);
  }
  if (f.stream !== undefined) validateStream(f.stream);
  if (f.category !== undefined) checkName(f.category, 'category');
  if (f.routingKey !== undefined) checkName(f.routingKey, 'routingKey');
  if (f.types !== undefined) {
    if (!Array.isArray(f.types) || f.types.length === 0 || f.types.length > MAX_FILTER_TYPES) {
      throw new InvalidArgumentError(`types must be an array of 1 to ${MAX_FILTER_TYPES} event types`);
    }
    for (const t of f.types) checkName(t, 'types[]', MAX_TYPE_LENGTH);
  }
  return f as EventFilter;
}

/** The most events `readStream` returns in one call when a limit is given. */
export const MAX_READ_LIMIT = 1_000_000_000;

/** Checks `readStream`'s options. */
export function validateReadStreamOptions(options: unknown): { fromVersion: number | undefined; backward: boolean; limit: number } {
  if (options === undefined) return { fromVersion: undefined, backward: false, limit: -1 };
  if (typeof options !== 'object' || options === null) throw new InvalidArgumentError('readStream options must be an object');
  const o = options as ReadStreamOptions & Record<string, unknown>;
  for (const key of Object.keys(o)) {
    if (key !== 'fromVersion' && key !== 'direction' && key !== 'limit') {
      throw new InvalidArgumentError(`Unknown readStream option "${key}"; they are fromVersion, direction and limit`);
    }
  }
  if (o.fromVersion !== undefined && !(Number.isSafeInteger(o.fromVersion) && o.fromVersion >= 0)) {
    throw new InvalidArgumentError(`fromVersion must be a version number >= 0, got ${String(o.fromVersion)}`);
  }
  if (o.direction !== undefined && o.direction !== 'forward' && o.direction !== 'backward') {
    throw new InvalidArgumentError(`direction must be 'forward' or 'backward', got ${String(o.direction)}`);
  }
  if (o.limit !== undefined && !(Number.isSafeInteger(o.limit) && o.limit >= 0 && o.limit <= MAX_READ_LIMIT)) {
    throw new InvalidArgumentError(
      `limit must be an integer from 0 to ${MAX_READ_LIMIT}; leave it out to read the whole stream`,
    );
  }
  return { fromVersion: o.fromVersion, backward: o.direction === 'backward', limit: o.limit ?? -1 };
}

/** Throws INVALID_ARGUMENT unless `start` is `'start'`, `'end'` or a position >= 0. */
export function validateStart(start: unknown, what = 'from'): asserts start is StartPosition {
  if (start === 'start' || start === 'end') return;
  if (typeof start === 'number' && Number.isSafeInteger(start) && start >= 0) return;
  throw new InvalidArgumentError(`${what} must be 'start', 'end' or a position >= 0, got ${String(start)}`);
}

/** Checks a global position argument (a cursor's position, a checkpoint). */
export function validatePosition(position: unknown, what: string): number {
  if (!Number.isSafeInteger(position) || (position as number) < 0) {
    throw new InvalidArgumentError(`${what} must be a position >= 0, got ${String(position)}`);
  }
  return position as number;
}

/**
 * Checks an encoded append as the engine receives it: everything `encodeAppend` produces,
 * and nothing else. `data` and `metadata` must be JSON text (metadata of an object), since
 * every reader parses them.
 */
export function validateEncodedAppend(req: unknown, maxEventBytes: number): asserts req is AppendRequest {
  if (typeof req !== 'object' || req === null) throw new InvalidArgumentError('An append must be an object');
  const r = req as Partial<AppendRequest>;
  validateStream(r.stream);
  validateExpectedVersion(r.expectedVersion);
  if (r.routingKey !== null) validateRoutingKey(r.routingKey);
  if (!Array.isArray(r.events) || r.events.length === 0) {
    throw new InvalidEventError('An append needs a non-empty array of events');
  }
  if (r.events.length > MAX_EVENTS_PER_APPEND) {
    throw new InvalidEventError(`An append holds at most ${MAX_EVENTS_PER_APPEND} events, got ${r.events.length}`);
  }
  const ids = new Set<string>();
  let total = 0;
  for (let i = 0; i < r.events.length; i++) {
    const e = r.events[i] as Partial<EncodedEvent> | undefined;
    if (typeof e !== 'object' || e === null) throw new InvalidEventError(`Event ${i} must be an object`, i);
    validateType(e.type, i);
    if (!isUlid(e.id)) throw new InvalidEventError(`Event ${i} has an id that is not a ULID: ${String(e.id)}`, i);
    if (ids.has(e.id)) throw new DuplicateEventIdError(e.id, `Event ${i} repeats the id ${e.id} of an earlier event of the same append`);
    ids.add(e.id);
    if (!(Number.isSafeInteger(e.schemaVersion) && (e.schemaVersion as number) >= 1)) {
      throw new InvalidEventError(`Event ${i} has a schemaVersion that is not an integer >= 1`, i);
    }
    checkJsonText(e.data, i, 'data', false);
    if (e.metadata !== null) checkJsonText(e.metadata, i, 'metadata', true);
    total += checkEventSize(e.data as string, (e.metadata as string | null) ?? null, maxEventBytes, i);
  }
  checkAppendSize(total);
}

/** Checks that no event id appears twice across the appends of one `appendMany`. */
export function validateDistinctIds(reqs: readonly AppendRequest[]): void {
  const seen = new Map<string, string>();
  for (const req of reqs) {
    for (const e of req.events) {
      const other = seen.get(e.id);
      if (other !== undefined) {
        throw new DuplicateEventIdError(
          e.id,
          `appendMany carries the event id ${e.id} twice (streams "${other}" and "${req.stream}"); every event needs its own id`,
        );
      }
      seen.set(e.id, req.stream);
    }
  }
}

/** Throws INVALID_EVENT when one event's data plus metadata is over the limit; returns its size in bytes (estimated from above when small). */
export function checkEventSize(data: string, metadata: string | null, maxBytes: number, index: number): number {
  const units = data.length + (metadata?.length ?? 0);
  if (units * 3 <= maxBytes) return units * 3; // no UTF-16 unit takes more than 3 UTF-8 bytes
  const size = utf8Length(data) + (metadata === null ? 0 : utf8Length(metadata));
  if (size > maxBytes) {
    throw new InvalidEventError(`Event ${index} is ${size} bytes of data and metadata, over the limit of ${maxBytes}`, index);
  }
  return size;
}

/** Throws INVALID_EVENT when one append's events add up to more than `MAX_APPEND_BYTES`. */
export function checkAppendSize(bytes: number): void {
  if (bytes > MAX_APPEND_BYTES) {
    throw new InvalidEventError(
      `An append holds at most ${MAX_APPEND_BYTES} bytes of data and metadata; split it into several appends (or use appendMany)`,
    );
  }
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

/** Checks a JSON text that arrived already encoded: it must parse (to an object, for metadata) and be well-formed. */
function checkJsonText(text: unknown, index: number, what: string, object: boolean): void {
  if (typeof text !== 'string') throw new InvalidEventError(`Event ${index} ${what} is not encoded as JSON text`, index);
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch {
    throw new InvalidEventError(`Event ${index} ${what} is not valid JSON text`, index);
  }
  if (object && (typeof value !== 'object' || value === null || Array.isArray(value))) {
    throw new InvalidEventError(`Event ${index} metadata must be the JSON text of an object`, index);
  }
  if (!isWellFormed(text)) throw new InvalidEventError(`Event ${index} ${what} holds a lone surrogate`, index);
}

function checkName(value: unknown, what: string, max = MAX_STREAM_LENGTH): void {
  if (typeof value !== 'string' || value.length === 0 || value.length > max || !isWellFormed(value)) {
    throw new InvalidArgumentError(`${what} must be a non-empty, well-formed string of at most ${max} characters, got ${describe(value)}`);
  }
}

function describe(value: unknown): string {
  if (typeof value === 'string') return JSON.stringify(value.slice(0, 50));
  if (value === null) return 'null';
  return Array.isArray(value) ? 'an array' : typeof value;
}

const FILTER_KEYS = new Set(['stream', 'category', 'types', 'routingKey']);
const LONE_SURROGATE = /[\uD800-\uDBFF](?![\uDC00-\uDFFF])|(?<![\uD800-\uDBFF])[\uDC00-\uDFFF]/;

/** Validates a consumer name. */
export function validateConsumerName(name: unknown): asserts name is string {
  if (typeof name !== 'string' || name.length === 0 || name.length > 200) {
    throw new InvalidArgumentError('A consumer name must be a non-empty string of at most 200 characters');
  }
}

/** Checks a sync filter from the outside. */
export function validateSyncFilter(filter: unknown): SyncFilter {
  if (filter === undefined || filter === null) return {};
  if (typeof filter !== 'object' || Array.isArray(filter)) throw new InvalidArgumentError('A sync filter is an object of categories and streams');
  const f = filter as Record<string, unknown>;
  const out: SyncFilter = {};
  for (const key of Object.keys(f)) {
    if (key !== 'categories' && key !== 'streams') throw new InvalidArgumentError(`Unknown sync filter field "${key}"`);
    const list = f[key];
    if (!Array.isArray(list) || list.some((x) => typeof x !== 'string' || x.length === 0 || x.length > 200)) {
      throw new InvalidArgumentError(`sync filter ${key} must be an array of non-empty names`);
    }
    out[key] = [...(list as string[])];
  }
  return out;
}
