/**
 * The sync protocol between a device and the sync server (`cairndb/server`): JSON over HTTP,
 * defined once here and validated on both sides. The server parses requests with these
 * schemas; the client parses responses with them. Every type is derived from its schema.
 *
 * - `POST /v1/push` `PushRequest` → `PushResponse`: the device's local writes, one batch per
 *   write, each atomic on the server. A batch is `ok`, a `conflict` of one stream, or
 *   `rejected`. Push is idempotent by event id: a batch already stored is answered with its
 *   stored versions and positions.
 * - `POST /v1/pull` `PullRequest` → `PullResponse`: events in the server's order after an
 *   opaque cursor.
 * - `GET /v1/live`: Server-Sent Events (`ready`, then `poke` whenever a pull may return
 *   something new); see `sse.ts` for the parser.
 * - Any non-2xx response carries `ErrorBody`: the same serialized `CairnError` as the worker
 *   boundary uses (`src/protocol/error-codec.ts`).
 *
 * No Node or DOM dependency: the browser worker imports this file too.
 */
import * as v from 'valibot';
import { categoryOf } from '../core/encode.ts';
import { isUlid, utf8Length, validateStream } from '../core/validate.ts';
import {
  type CairnError,
  ErrorCode,
  InvalidArgumentError,
  InvalidEventError,
  InvalidStreamError,
} from '../core/errors.ts';
import { DEFAULT_MAX_EVENT_BYTES, MAX_EVENTS_PER_APPEND, MAX_TYPE_LENGTH } from '../core/limits.ts';
import type { SerializedError } from '../protocol/error-codec.ts';

/** The HTTP paths of the protocol. */
export const SYNC_PATHS = { push: '/v1/push', pull: '/v1/pull', live: '/v1/live' } as const;

/** The most batches one push may carry. */
export const MAX_PUSH_BATCHES = 1_000;
/**
 * The most events one push of several batches may carry, over all its batches. A push of a
 * single batch may carry more (one local call, an appendMany of many streams, that must stay
 * whole); the body limit still bounds it.
 */
export const MAX_PUSH_EVENTS = 10_000;
/** The events a pull returns when it names no `limit`. */
export const DEFAULT_PULL_LIMIT = 1_000;
/** The largest `limit` a pull may ask for. */
export const MAX_PULL_LIMIT = 10_000;
/** The most names a pull filter may list in `categories` or in `streams`. */
export const MAX_PULL_FILTER_NAMES = 1_000;
/** The server's default limit on a request body, in bytes; a client splits pushes to fit. */
export const DEFAULT_MAX_BODY_BYTES = 8 * 1024 * 1024;
/** The default limit on one event's data plus metadata, in UTF-8 bytes (as in the store). */
export const DEFAULT_SYNC_MAX_EVENT_BYTES = DEFAULT_MAX_EVENT_BYTES;
/** The longest cursor the server hands out or accepts. */
export const MAX_CURSOR_LENGTH = 512;
/** The longest client (device) id. */
export const MAX_CLIENT_LENGTH = 64;

/** The names of the events on the live stream. */
export const LiveEvent = {
  /** Sent once when the stream is open. */
  Ready: 'ready',
  /** New events may be visible: pull. */
  Poke: 'poke',
} as const;
/** The live stream sends a comment at least this often, so idle connections stay open. */
export const LIVE_HEARTBEAT_MS = 15_000;

// ---------------------------------------------------------------------------------------
// Fields

/** A lone surrogate: a string holding one cannot be encoded as UTF-8 faithfully. */
const LONE_SURROGATE = /[\uD800-\uDFFF]/u;
const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

/** Checks that a string is well-formed UTF-16 and holds no U+0000 (PostgreSQL text cannot). */
const storableText = v.rawCheck<string>(({ dataset, addIssue }) => {
  if (!dataset.typed) return;
  if (LONE_SURROGATE.test(dataset.value)) {
    addIssue({ message: 'must be well-formed UTF-16, but it holds a lone surrogate' });
  } else if (dataset.value.includes('\u0000')) {
    addIssue({ message: 'must not contain U+0000' });
  }
});

/**
 * A strict object (unknown fields are errors) that is not an array: valibot's object
 * schemas accept arrays as objects.
 */
function object<const E extends v.ObjectEntries>(entries: E) {
  return v.pipe(
    v.unknown(),
    v.check((x) => !Array.isArray(x), 'must be an object, got an array'),
    v.strictObject(entries),
  );
}

const nonNegativeInteger = (what: string) =>
  v.pipe(v.number(), v.safeInteger(`${what} must be an integer`), v.minValue(0, `${what} must be >= 0`));
const positiveInteger = (what: string) =>
  v.pipe(v.number(), v.safeInteger(`${what} must be an integer`), v.minValue(1, `${what} must be >= 1`));

/** A stream name, by the store's own rules (`validateStream`), in well-formed UTF-16. */
const StreamSchema = v.pipe(
  v.string(),
  v.rawCheck(({ dataset, addIssue }) => {
    if (!dataset.typed) return;
    try {
      validateStream(dataset.value);
    } catch (e) {
      addIssue({ message: (e as Error).message });
      return;
    }
    if (LONE_SURROGATE.test(dataset.value)) {
      addIssue({ message: 'A stream name must be well-formed UTF-16, but it holds a lone surrogate' });
    }
  }),
);

/** A category: what a stream name holds before its first '-'. */
const CategorySchema = v.pipe(
  StreamSchema,
  v.check((c) => !c.includes('-'), "A category is the part of a stream name before its first '-', so it has no '-'"),
);

/** An event id: a ULID in canonical upper case. */
const EventIdSchema = v.pipe(
  v.string(),
  v.check((id: string) => isUlid(id), (issue) => `must be a ULID (26 characters of Crockford base32, upper case), got ${describe(issue.input)}`),
);

/** An event type, as the store allows it. */
const TypeSchema = v.pipe(
  v.string(),
  v.minLength(1, 'must not be empty'),
  v.maxLength(MAX_TYPE_LENGTH, `must be at most ${MAX_TYPE_LENGTH} characters`),
  storableText,
);

/** JSON text of any value. */
const JsonTextSchema = v.pipe(
  v.string(),
  storableText,
  v.rawCheck(({ dataset, addIssue }) => {
    if (!dataset.typed) return;
    const error = jsonError(dataset.value);
    if (error !== undefined) addIssue({ message: `must be JSON text: ${error}` });
  }),
);

/** JSON text of an object (not an array, not null). */
const MetadataTextSchema = v.pipe(
  v.string(),
  storableText,
  v.rawCheck(({ dataset, addIssue }) => {
    if (!dataset.typed) return;
    let value: unknown;
    try {
      value = JSON.parse(dataset.value);
    } catch (e) {
      addIssue({ message: `must be null or the JSON text of an object: ${(e as Error).message}` });
      return;
    }
    if (typeof value !== 'object' || value === null || Array.isArray(value)) {
      addIssue({ message: 'must be null or the JSON text of an object' });
    }
  }),
);

const RoutingKeySchema = v.pipe(v.string(), v.minLength(1, 'must be null or a non-empty string'), storableText);

/** `'any' | 'no_stream' | 'stream_exists' | number` (a version >= 0). */
const ExpectedVersionSchema = v.union(
  [v.picklist(['any', 'no_stream', 'stream_exists']), nonNegativeInteger('an expected version')],
  "must be 'any', 'no_stream', 'stream_exists' or a version number >= 0",
);

/** A device's id: a ULID or a UUID. */
const ClientIdSchema = v.pipe(
  v.string(),
  v.check(
    (c) => isUlid(c) || UUID.test(c),
    (issue) => `must be the device's id, a ULID or a UUID, got ${describe(issue.input)}`,
  ),
);

const CursorSchema = v.pipe(
  v.string(),
  v.minLength(1, 'must not be empty'),
  v.maxLength(MAX_CURSOR_LENGTH, `must be at most ${MAX_CURSOR_LENGTH} characters`),
  storableText,
);

const SyncEventEntries = {
  id: EventIdSchema,
  type: TypeSchema,
  /** JSON text, stored byte for byte. */
  data: JsonTextSchema,
  /** JSON text of an object, or null. */
  metadata: v.nullable(MetadataTextSchema),
  schemaVersion: positiveInteger('schemaVersion'),
  /** Milliseconds since the epoch, when the event was appended on the device. */
  timestamp: nonNegativeInteger('timestamp'),
};

// ---------------------------------------------------------------------------------------
// Push

/** The schema of one event as a device pushes it, with its size limit. */
export function syncEventSchema(maxEventBytes: number = DEFAULT_SYNC_MAX_EVENT_BYTES) {
  return v.pipe(
    object(SyncEventEntries),
    v.rawCheck(({ dataset, addIssue }) => {
      if (!dataset.typed) return;
      const { data, metadata } = dataset.value;
      // No UTF-16 unit takes more than 3 UTF-8 bytes: count only when it could matter.
      if ((data.length + (metadata?.length ?? 0)) * 3 <= maxEventBytes) return;
      const size = utf8Length(data) + (metadata === null ? 0 : utf8Length(metadata));
      if (size > maxEventBytes) {
        addIssue({ message: `is ${size} bytes of data and metadata, over the limit of ${maxEventBytes}` });
      }
    }),
  );
}

/** The schema of a push request, for a given event size limit. */
export function pushRequestSchema(maxEventBytes: number = DEFAULT_SYNC_MAX_EVENT_BYTES) {
  const PushAppend = object({
    stream: StreamSchema,
    expectedVersion: ExpectedVersionSchema,
    routingKey: v.nullable(RoutingKeySchema),
    events: v.pipe(
      v.array(syncEventSchema(maxEventBytes)),
      v.minLength(1, 'must hold at least one event'),
      v.maxLength(MAX_EVENTS_PER_APPEND, `must hold at most ${MAX_EVENTS_PER_APPEND} events, as a device's append does`),
    ),
  });
  const PushBatch = object({
    appends: v.pipe(v.array(PushAppend), v.minLength(1, 'must hold at least one append')),
  });
  return object({
    /** The device's id, a ULID or a UUID. */
    client: ClientIdSchema,
    batches: v.pipe(
      v.array(PushBatch),
      v.maxLength(MAX_PUSH_BATCHES, `must hold at most ${MAX_PUSH_BATCHES} batches`),
    ),
  });
}

/** The schema of a push request with the default event size limit. */
export const PushRequestSchema = pushRequestSchema();

/** One event as a device pushes it. `data` and `metadata` are JSON text. */
export type SyncEvent = v.InferOutput<ReturnType<typeof syncEventSchema>>;
/** A device's local writes, each one batch. */
export type PushRequest = v.InferOutput<typeof PushRequestSchema>;
/** One local write (an `append`, or an `appendMany` across streams): atomic on the server. */
export type PushBatch = PushRequest['batches'][number];
/** One stream's part of a batch, with the expected version it was made with. */
export type PushAppend = PushBatch['appends'][number];
/** `'any' | 'no_stream' | 'stream_exists' | number`. */
export type SyncExpectedVersion = v.InferOutput<typeof ExpectedVersionSchema>;

/** A serialized `CairnError`, as in `src/protocol/error-codec.ts`. */
export const SerializedErrorSchema = object({
  code: v.pipe(
    v.string(),
    // A code this side does not know (a newer server) reads as INTERNAL, keeping the message.
    v.transform((code): ErrorCode => (Object.hasOwn(ErrorCode, code) ? (code as ErrorCode) : ErrorCode.INTERNAL)),
  ),
  message: v.string(),
  stack: v.exactOptional(v.string()),
  fields: v.record(v.string(), v.unknown()),
});

const VersionSchema = positiveInteger('a version');
const PositionSchema = positiveInteger('a server position');

/** The schema of a push response. */
export const PushResponseSchema = object({
  /** One result per batch of the request, in order. */
  results: v.array(
    v.variant('status', [
      v.strictObject({
        status: v.literal('ok'),
        appends: v.array(
          object({
            stream: StreamSchema,
            /** The stream's version after this append. */
            version: VersionSchema,
            events: v.array(object({ id: EventIdSchema, version: VersionSchema, serverPosition: PositionSchema })),
          }),
        ),
      }),
      v.strictObject({
        status: v.literal('conflict'),
        stream: StreamSchema,
        expected: ExpectedVersionSchema,
        /** The server's version of the stream. */
        actual: nonNegativeInteger('actual'),
      }),
      v.strictObject({ status: v.literal('rejected'), error: SerializedErrorSchema }),
    ]),
  ),
});

/** The server's answer to a push. */
export type PushResponse = v.InferOutput<typeof PushResponseSchema>;
/** What became of one batch. */
export type PushBatchResult = PushResponse['results'][number];
/** A stored batch: each append's new version and its events' versions and server positions. */
export type PushBatchOk = Extract<PushBatchResult, { status: 'ok' }>;
/** A batch refused because one stream's expected version did not hold. Nothing of it is stored. */
export type PushBatchConflict = Extract<PushBatchResult, { status: 'conflict' }>;
/** A batch refused for another reason (`DUPLICATE_EVENT_ID`...). Nothing of it is stored. */
export type PushBatchRejected = Extract<PushBatchResult, { status: 'rejected' }>;

// ---------------------------------------------------------------------------------------
// Pull

/** The schema of a pull request. */
export const PullRequestSchema = object({
  /** The cursor of the last pull, or null to start from the beginning. */
  cursor: v.nullable(CursorSchema),
  /** At most this many events; `DEFAULT_PULL_LIMIT` when absent. */
  limit: v.exactOptional(
    v.pipe(
      v.number(),
      v.safeInteger('limit must be an integer'),
      v.minValue(1, 'limit must be >= 1'),
      v.maxValue(MAX_PULL_LIMIT, `limit must be at most ${MAX_PULL_LIMIT}`),
    ),
  ),
  /**
   * Which events: those of any listed category OR any listed stream. Absent (or with
   * neither field) = every event the caller may read; an empty list names nothing.
   */
  filter: v.exactOptional(
    object({
      categories: v.exactOptional(
        v.pipe(v.array(CategorySchema), v.maxLength(MAX_PULL_FILTER_NAMES, `must list at most ${MAX_PULL_FILTER_NAMES} names`)),
      ),
      streams: v.exactOptional(
        v.pipe(v.array(StreamSchema), v.maxLength(MAX_PULL_FILTER_NAMES, `must list at most ${MAX_PULL_FILTER_NAMES} names`)),
      ),
    }),
  ),
});

/** A request for the events after a cursor. */
export type PullRequest = v.InferOutput<typeof PullRequestSchema>;
/** Which events a pull wants. */
export type PullFilter = NonNullable<PullRequest['filter']>;

/** The schema of one event as the server returns it. */
export const ServerEventSchema = v.pipe(
  object({
    ...SyncEventEntries,
    stream: StreamSchema,
    category: v.string(),
    version: VersionSchema,
    routingKey: v.nullable(RoutingKeySchema),
    /**
     * Unique and stable for the event within its tenant. The server's order is the order
     * pulls return, which is the order of committing transactions: positions taken by
     * concurrent transactions may interleave, so resume from the cursor, not from this.
     */
    serverPosition: PositionSchema,
  }),
  v.check((e) => e.category === categoryOf(e.stream), 'category must be the part of the stream name before its first -'),
);

/** The schema of a pull response. */
export const PullResponseSchema = object({
  /** Events in the server's order. */
  events: v.array(ServerEventSchema),
  /** Where the next pull starts. */
  cursor: CursorSchema,
  /** True when another pull would return events now. */
  more: v.boolean(),
});

/** A stored event as the server returns it. */
export type ServerEvent = v.InferOutput<typeof ServerEventSchema>;
/** A page of events after a cursor. */
export type PullResponse = v.InferOutput<typeof PullResponseSchema>;

/** The body of every non-2xx response. */
export const ErrorBodySchema = object({ error: SerializedErrorSchema });
/** The body of every non-2xx response. */
export type ErrorBody = v.InferOutput<typeof ErrorBodySchema>;

// ---------------------------------------------------------------------------------------
// Parsing

/** Options of `parsePushRequest`. */
export interface ParsePushOptions {
  /** The limit on one event's data plus metadata, in UTF-8 bytes. */
  maxEventBytes?: number;
}

/**
 * Validates a push request: its shape (unknown fields are errors), each event, the batch and
 * event counts, and that no event id appears twice. Throws `INVALID_ARGUMENT`,
 * `INVALID_EVENT` or `INVALID_STREAM` with the path of the offending value.
 */
export function parsePushRequest(input: unknown, options: ParsePushOptions = {}): PushRequest {
  const max = options.maxEventBytes ?? DEFAULT_SYNC_MAX_EVENT_BYTES;
  const schema = max === DEFAULT_SYNC_MAX_EVENT_BYTES ? PushRequestSchema : cachedPushSchema(max);
  const push = parse(schema, input, 'push request');
  let count = 0;
  const seen = new Map<string, string>();
  push.batches.forEach((batch, b) =>
    batch.appends.forEach((append, a) =>
      append.events.forEach((event, e) => {
        count++;
        const path = `batches[${b}].appends[${a}].events[${e}].id`;
        const first = seen.get(event.id);
        if (first !== undefined) {
          throw new InvalidEventError(`${path}: the id ${event.id} is also at ${first}; ids are unique`, e);
        }
        seen.set(event.id, path);
      }),
    ),
  );
  if (count > MAX_PUSH_EVENTS && push.batches.length > 1) {
    throw new InvalidArgumentError(`push request: holds ${count} events in ${push.batches.length} batches, over the limit of ${MAX_PUSH_EVENTS}`);
  }
  return push;
}

/** Validates a pull request. */
export function parsePullRequest(input: unknown): PullRequest {
  return parse(PullRequestSchema, input, 'pull request');
}

/** Validates a push response; with the request, also that there is one result per batch. */
export function parsePushResponse(input: unknown, request?: PushRequest): PushResponse {
  const response = parse(PushResponseSchema, input, 'push response');
  if (request !== undefined && response.results.length !== request.batches.length) {
    throw new InvalidArgumentError(
      `push response: holds ${response.results.length} results for ${request.batches.length} batches`,
    );
  }
  return response;
}

/** Validates a pull response. */
export function parsePullResponse(input: unknown): PullResponse {
  return parse(PullResponseSchema, input, 'pull response');
}

/** Validates the body of a non-2xx response; `deserializeError` then rebuilds the error. */
export function parseErrorBody(input: unknown): SerializedError {
  return parse(ErrorBodySchema, input, 'error body').error;
}

// ---------------------------------------------------------------------------------------
// Helpers

type AnySchema = v.GenericSchema<unknown, unknown>;

function parse<S extends AnySchema>(schema: S, input: unknown, what: string): v.InferOutput<S> {
  const result = v.safeParse(schema, input, { abortEarly: true });
  if (result.success) return result.output as v.InferOutput<S>;
  throw issueToError(result.issues[0], what);
}

const pushSchemas = new Map<number, ReturnType<typeof pushRequestSchema>>();
function cachedPushSchema(maxEventBytes: number): ReturnType<typeof pushRequestSchema> {
  let schema = pushSchemas.get(maxEventBytes);
  if (schema === undefined) pushSchemas.set(maxEventBytes, (schema = pushRequestSchema(maxEventBytes)));
  return schema;
}

/**
 * Turns the first issue into the error the store would raise for the same fault: about an
 * event → INVALID_EVENT, about a stream name → INVALID_STREAM, anything else →
 * INVALID_ARGUMENT. The message starts with the path of the offending value.
 */
function issueToError(issue: v.BaseIssue<unknown>, what: string): CairnError {
  const keys = (issue.path ?? []).map((item) => item.key as string | number);
  const path = keys.length === 0 ? what : formatPath(keys);
  const message = `${path}: ${describeIssue(issue)}`;
  const last = keys[keys.length - 1];
  if (last === 'stream' || (keys[keys.length - 2] === 'streams' && typeof last === 'number')) {
    return new InvalidStreamError(typeof issue.input === 'string' ? issue.input : String(issue.input), message);
  }
  const events = keys.lastIndexOf('events');
  if (events !== -1) {
    const index = keys[events + 1];
    return new InvalidEventError(message, typeof index === 'number' ? index : undefined);
  }
  return new InvalidArgumentError(message);
}

function describeIssue(issue: v.BaseIssue<unknown>): string {
  if (issue.kind !== 'schema') return issue.message;
  if (issue.type === 'strict_object' && issue.expected === 'never') return 'is not a field of this message';
  if (issue.input === undefined && issue.path !== undefined) return 'is missing';
  if (issue.type === 'union' || issue.type === 'variant' || issue.type === 'picklist') {
    if (issue.type === 'variant') return `must be one of ${issue.expected ?? '?'}, got ${describe(issue.input)}`;
    return issue.message.startsWith('Invalid ') ? `must be ${issue.expected ?? '?'}, got ${describe(issue.input)}` : issue.message;
  }
  return `must be ${article(issue.expected ?? 'something else')}, got ${describe(issue.input)}`;
}

function article(expected: string): string {
  switch (expected) {
    case 'Object':
      return 'an object';
    case 'Array':
      return 'an array';
    case 'string':
    case 'number':
    case 'boolean':
      return `a ${expected}`;
    default:
      return expected;
  }
}

/** `batches[2].appends[0].events[1].id` */
function formatPath(keys: (string | number)[]): string {
  let out = '';
  for (const key of keys) {
    if (typeof key === 'number') out += `[${key}]`;
    else if (/^[A-Za-z_$][\w$]*$/.test(key)) out += out === '' ? key : `.${key}`;
    else out += `[${JSON.stringify(key)}]`;
  }
  return out;
}

/** A short description of a value for an error message (strings truncated). */
function describe(value: unknown): string {
  if (typeof value === 'string') return JSON.stringify(value.length > 40 ? `${value.slice(0, 40)}…` : value);
  if (Array.isArray(value)) return 'an array';
  if (value === null) return 'null';
  if (typeof value === 'object') return 'an object';
  return typeof value === 'number' || typeof value === 'boolean' ? String(value) : typeof value;
}

function jsonError(text: string): string | undefined {
  try {
    JSON.parse(text);
    return undefined;
  } catch (e) {
    return (e as Error).message;
  }
}
