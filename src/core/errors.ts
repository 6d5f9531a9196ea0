/**
 * Every failure Cairn reports is a `CairnError` with a stable `code`, and a subclass of its
 * own with typed fields. `ERROR_TABLE` is the one list of them: per code, the fields that
 * cross a boundary and how to rebuild the error on the far side. The wire codec
 * (`src/protocol/error-codec.ts`) and the `isX` guards are derived from it, and the
 * compiler checks that every code has its entry.
 */

/** The stable error codes. */
export const ErrorCode = {
  VERSION_CONFLICT: 'VERSION_CONFLICT',
  INVALID_EVENT: 'INVALID_EVENT',
  INVALID_STREAM: 'INVALID_STREAM',
  INVALID_ARGUMENT: 'INVALID_ARGUMENT',
  DUPLICATE_EVENT_ID: 'DUPLICATE_EVENT_ID',
  READ_ONLY_QUERY: 'READ_ONLY_QUERY',
  QUERY_TIMEOUT: 'QUERY_TIMEOUT',
  PROJECTION_FAILED: 'PROJECTION_FAILED',
  QUOTA_EXCEEDED: 'QUOTA_EXCEEDED',
  STORAGE_UNAVAILABLE: 'STORAGE_UNAVAILABLE',
  STORE_CLOSED: 'STORE_CLOSED',
  NO_LEADER: 'NO_LEADER',
  UPCAST_FAILED: 'UPCAST_FAILED',
  COMMAND_FAILED: 'COMMAND_FAILED',
  SYNC_REJECTED: 'SYNC_REJECTED',
  SYNC_UNAVAILABLE: 'SYNC_UNAVAILABLE',
  UNAUTHORIZED: 'UNAUTHORIZED',
  INTERNAL: 'INTERNAL',
} as const;

/** One of the stable error codes. */
export type ErrorCode = (typeof ErrorCode)[keyof typeof ErrorCode];

/** The base class of every error Cairn throws. Check `code`, or use the `isX` guards. */
export class CairnError extends Error {
  readonly code: ErrorCode;
  constructor(code: ErrorCode, message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.code = code;
    this.name = 'CairnError';
  }
}

/** The version a stream was expected at; the sentinels are named in `ExpectedVersion`. */
export type ExpectedVersionValue = number | 'no_stream' | 'stream_exists' | 'any';

/** An append's `expectedVersion` did not match the stream's current version. */
export class VersionConflictError extends CairnError {
  declare readonly code: typeof ErrorCode.VERSION_CONFLICT;
  readonly stream: string;
  readonly expected: ExpectedVersionValue;
  readonly actual: number;
  constructor(stream: string, expected: ExpectedVersionValue, actual: number) {
    super(
      ErrorCode.VERSION_CONFLICT,
      `Version conflict on stream "${stream}": expected ${String(expected)}, actual version is ${actual}`,
    );
    this.name = 'VersionConflictError';
    this.stream = stream;
    this.expected = expected;
    this.actual = actual;
  }
}

/** An event was malformed: empty type, data that is not JSON, too large, or a bad id. */
export class InvalidEventError extends CairnError {
  declare readonly code: typeof ErrorCode.INVALID_EVENT;
  /** The index of the offending event within its append call, when known. */
  readonly index: number | undefined;
  constructor(message: string, index?: number) {
    super(ErrorCode.INVALID_EVENT, message);
    this.name = 'InvalidEventError';
    this.index = index;
  }
}

/** A stream name was empty, too long, not well-formed, or contained control characters. */
export class InvalidStreamError extends CairnError {
  declare readonly code: typeof ErrorCode.INVALID_STREAM;
  readonly stream: string;
  constructor(stream: string, message: string) {
    super(ErrorCode.INVALID_STREAM, message);
    this.name = 'InvalidStreamError';
    this.stream = stream;
  }
}

/** An option or argument other than an event or a stream name was malformed (a cursor, a limit...). */
export class InvalidArgumentError extends CairnError {
  declare readonly code: typeof ErrorCode.INVALID_ARGUMENT;
  constructor(message: string, options?: { cause?: unknown }) {
    super(ErrorCode.INVALID_ARGUMENT, message, options);
    this.name = 'InvalidArgumentError';
  }
}

/** An event id already belongs to another event. */
export class DuplicateEventIdError extends CairnError {
  declare readonly code: typeof ErrorCode.DUPLICATE_EVENT_ID;
  readonly id: string;
  constructor(id: string, message?: string) {
    super(ErrorCode.DUPLICATE_EVENT_ID, message ?? `Event id ${id} is already used by another event`);
    this.name = 'DuplicateEventIdError';
    this.id = id;
  }
}

/** A query tried to write. */
export class ReadOnlyQueryError extends CairnError {
  declare readonly code: typeof ErrorCode.READ_ONLY_QUERY;
  constructor(message: string) {
    super(ErrorCode.READ_ONLY_QUERY, message);
    this.name = 'ReadOnlyQueryError';
  }
}

/** A query or watch ran past its time budget and was interrupted; the store goes on serving. */
export class QueryTimeoutError extends CairnError {
  declare readonly code: typeof ErrorCode.QUERY_TIMEOUT;
  /** The budget it ran past, in ms. */
  readonly timeoutMs: number;
  constructor(timeoutMs: number, message?: string) {
    super(ErrorCode.QUERY_TIMEOUT, message ?? `The query ran past its time budget of ${timeoutMs} ms and was interrupted`);
    this.name = 'QueryTimeoutError';
    this.timeoutMs = timeoutMs;
  }
}

/** A projection handler threw; the append that fed it was rolled back. */
export class ProjectionFailedError extends CairnError {
  declare readonly code: typeof ErrorCode.PROJECTION_FAILED;
  readonly projection: string;
  constructor(projection: string, message: string, options?: { cause?: unknown }) {
    super(ErrorCode.PROJECTION_FAILED, message, options);
    this.name = 'ProjectionFailedError';
    this.projection = projection;
  }
}

/** The browser refused to store more data. Nothing of the failed write was kept. */
export class QuotaExceededError extends CairnError {
  declare readonly code: typeof ErrorCode.QUOTA_EXCEEDED;
  constructor(message: string, options?: { cause?: unknown }) {
    super(ErrorCode.QUOTA_EXCEEDED, message, options);
    this.name = 'QuotaExceededError';
  }
}

/** The storage could not be opened, or failed under a write (an I/O error). */
export class StorageUnavailableError extends CairnError {
  declare readonly code: typeof ErrorCode.STORAGE_UNAVAILABLE;
  constructor(message: string, options?: { cause?: unknown }) {
    super(ErrorCode.STORAGE_UNAVAILABLE, message, options);
    this.name = 'StorageUnavailableError';
  }
}

/** The store was closed (or its worker stopped) before the call could run. */
export class StoreClosedError extends CairnError {
  declare readonly code: typeof ErrorCode.STORE_CLOSED;
  constructor(message = 'The store is closed') {
    super(ErrorCode.STORE_CLOSED, message);
    this.name = 'StoreClosedError';
  }
}

/** No tab became leader within the timeout. */
export class NoLeaderError extends CairnError {
  declare readonly code: typeof ErrorCode.NO_LEADER;
  constructor(message: string) {
    super(ErrorCode.NO_LEADER, message);
    this.name = 'NoLeaderError';
  }
}

/** A stored event could not be brought to its latest schema version. */
export class UpcastError extends CairnError {
  declare readonly code: typeof ErrorCode.UPCAST_FAILED;
  readonly type: string;
  readonly schemaVersion: number;
  constructor(type: string, schemaVersion: number, message: string, options?: { cause?: unknown }) {
    super(ErrorCode.UPCAST_FAILED, message, options);
    this.name = 'UpcastError';
    this.type = type;
    this.schemaVersion = schemaVersion;
  }
}

/** What a process manager's failed command was: where it went and what it said. */
export interface CommandDetail {
  category: string;
  id: string;
  command: unknown;
  /** Its index among the commands of its reaction. */
  index: number;
}

/** A command a process manager sent could not be handled; `detail` goes into the dead letter. */
export class CommandFailedError extends CairnError {
  declare readonly code: typeof ErrorCode.COMMAND_FAILED;
  readonly detail: CommandDetail;
  constructor(message: string, detail: CommandDetail, options?: { cause?: unknown }) {
    super(ErrorCode.COMMAND_FAILED, message, options);
    this.name = 'CommandFailedError';
    this.detail = detail;
  }
}

/** The sync server refused a push (a stream the caller may not write, a malformed request...). */
export class SyncRejectedError extends CairnError {
  declare readonly code: typeof ErrorCode.SYNC_REJECTED;
  /** The stream it was refused for, when it was one stream. */
  readonly stream: string | undefined;
  constructor(message: string, stream?: string, options?: { cause?: unknown }) {
    super(ErrorCode.SYNC_REJECTED, message, options);
    this.name = 'SyncRejectedError';
    this.stream = stream;
  }
}

/** The sync server could not be reached (offline, refused, timed out), or answered what it should not. */
export class SyncUnavailableError extends CairnError {
  declare readonly code: typeof ErrorCode.SYNC_UNAVAILABLE;
  constructor(message: string, options?: { cause?: unknown }) {
    super(ErrorCode.SYNC_UNAVAILABLE, message, options);
    this.name = 'SyncUnavailableError';
  }
}

/** The sync server refused the caller's token. */
export class UnauthorizedError extends CairnError {
  declare readonly code: typeof ErrorCode.UNAUTHORIZED;
  constructor(message = 'The sync server refused the token', options?: { cause?: unknown }) {
    super(ErrorCode.UNAUTHORIZED, message, options);
    this.name = 'UnauthorizedError';
  }
}

/** An unexpected failure inside Cairn or SQLite; `cause` holds the original. */
export class InternalError extends CairnError {
  declare readonly code: typeof ErrorCode.INTERNAL;
  /** The code the far side sent, when it was one this side does not know. */
  readonly originalCode: string | undefined;
  constructor(message: string, options?: { cause?: unknown; originalCode?: string }) {
    super(ErrorCode.INTERNAL, message, options);
    this.name = 'InternalError';
    this.originalCode = options?.originalCode;
  }
}

/** The fields of an error as they arrived from the other side of a boundary, unchecked. */
export type WireFields = Readonly<Record<string, unknown>>;

/** What the table knows of one code. */
export interface ErrorSpec<T extends CairnError = CairnError> {
  /** The fields (besides code, message and cause) that cross a boundary. */
  readonly fields: readonly string[];
  /** Rebuilds the error from its message and fields; the codec then restores message, stack and cause. */
  rebuild(message: string, fields: WireFields): T;
}

/** Every code's error: its wire fields and how to rebuild it. */
export const ERROR_TABLE = {
  VERSION_CONFLICT: {
    fields: ['stream', 'expected', 'actual'],
    rebuild: (_, f) => new VersionConflictError(text(f.stream), expectedVersion(f.expected), count(f.actual)),
  },
  INVALID_EVENT: { fields: ['index'], rebuild: (m, f) => new InvalidEventError(m, optionalCount(f.index)) },
  INVALID_STREAM: { fields: ['stream'], rebuild: (m, f) => new InvalidStreamError(text(f.stream), m) },
  INVALID_ARGUMENT: { fields: [], rebuild: (m) => new InvalidArgumentError(m) },
  DUPLICATE_EVENT_ID: { fields: ['id'], rebuild: (m, f) => new DuplicateEventIdError(text(f.id), m) },
  READ_ONLY_QUERY: { fields: [], rebuild: (m) => new ReadOnlyQueryError(m) },
  QUERY_TIMEOUT: { fields: ['timeoutMs'], rebuild: (m, f) => new QueryTimeoutError(count(f.timeoutMs), m) },
  PROJECTION_FAILED: { fields: ['projection'], rebuild: (m, f) => new ProjectionFailedError(text(f.projection), m) },
  QUOTA_EXCEEDED: { fields: [], rebuild: (m) => new QuotaExceededError(m) },
  STORAGE_UNAVAILABLE: { fields: [], rebuild: (m) => new StorageUnavailableError(m) },
  STORE_CLOSED: { fields: [], rebuild: (m) => new StoreClosedError(m) },
  NO_LEADER: { fields: [], rebuild: (m) => new NoLeaderError(m) },
  UPCAST_FAILED: {
    fields: ['type', 'schemaVersion'],
    rebuild: (m, f) => new UpcastError(text(f.type), count(f.schemaVersion), m),
  },
  COMMAND_FAILED: { fields: ['detail'], rebuild: (m, f) => new CommandFailedError(m, commandDetail(f.detail)) },
  SYNC_REJECTED: {
    fields: ['stream'],
    rebuild: (m, f) => new SyncRejectedError(m, typeof f.stream === 'string' ? f.stream : undefined),
  },
  SYNC_UNAVAILABLE: { fields: [], rebuild: (m) => new SyncUnavailableError(m) },
  UNAUTHORIZED: { fields: [], rebuild: (m) => new UnauthorizedError(m) },
  INTERNAL: {
    fields: ['originalCode'],
    rebuild: (m, f) => new InternalError(m, typeof f.originalCode === 'string' ? { originalCode: f.originalCode } : {}),
  },
} as const satisfies { readonly [C in ErrorCode]: ErrorSpec };

/** The class of the error of a code, as the table rebuilds it. */
export type ErrorOf<C extends ErrorCode> = ReturnType<(typeof ERROR_TABLE)[C]['rebuild']>;

/** True when `code` is one of the stable codes. */
export function isErrorCode(code: unknown): code is ErrorCode {
  return typeof code === 'string' && Object.hasOwn(ERROR_TABLE, code);
}

/** True when `e` is any Cairn error (by `code`, so it also works across realms). */
export function isCairnError(e: unknown): e is CairnError {
  return e instanceof CairnError || (typeof e === 'object' && e !== null && isErrorCode((e as { code?: unknown }).code));
}

/** A guard for one code, typed by the table. */
export function guardFor<C extends ErrorCode>(code: C): (e: unknown) => e is ErrorOf<C> {
  return (e: unknown): e is ErrorOf<C> => isCairnError(e) && e.code === code;
}

/** True when `e` is a version conflict. */
export const isVersionConflict = guardFor(ErrorCode.VERSION_CONFLICT);
/** True when `e` is an invalid event. */
export const isInvalidEvent = guardFor(ErrorCode.INVALID_EVENT);
/** True when `e` is an invalid stream name. */
export const isInvalidStream = guardFor(ErrorCode.INVALID_STREAM);
/** True when `e` is an invalid argument or option. */
export const isInvalidArgument = guardFor(ErrorCode.INVALID_ARGUMENT);
/** True when `e` is a duplicate event id. */
export const isDuplicateEventId = guardFor(ErrorCode.DUPLICATE_EVENT_ID);
/** True when `e` is a rejected write in a read-only query. */
export const isReadOnlyQuery = guardFor(ErrorCode.READ_ONLY_QUERY);
/** True when `e` is a query interrupted past its time budget. */
export const isQueryTimeout = guardFor(ErrorCode.QUERY_TIMEOUT);
/** True when `e` is a failed projection. */
export const isProjectionFailed = guardFor(ErrorCode.PROJECTION_FAILED);
/** True when `e` is a quota failure. */
export const isQuotaExceeded = guardFor(ErrorCode.QUOTA_EXCEEDED);
/** True when `e` is unavailable storage. */
export const isStorageUnavailable = guardFor(ErrorCode.STORAGE_UNAVAILABLE);
/** True when `e` is a call on a closed store. */
export const isStoreClosed = guardFor(ErrorCode.STORE_CLOSED);
/** True when `e` is a missing leader. */
export const isNoLeader = guardFor(ErrorCode.NO_LEADER);
/** True when `e` is a failed upcast. */
export const isUpcastFailed = guardFor(ErrorCode.UPCAST_FAILED);
/** True when `e` is a process manager's failed command. */
export const isCommandFailed = guardFor(ErrorCode.COMMAND_FAILED);
/** True when `e` is a push the sync server refused. */
export const isSyncRejected = guardFor(ErrorCode.SYNC_REJECTED);
/** True when `e` is a sync server out of reach. */
export const isSyncUnavailable = guardFor(ErrorCode.SYNC_UNAVAILABLE);
/** True when `e` is a token the sync server refused. */
export const isUnauthorized = guardFor(ErrorCode.UNAUTHORIZED);
/** True when `e` is an unexpected failure. */
export const isInternal = guardFor(ErrorCode.INTERNAL);

/** The message of anything thrown. */
export function messageOf(e: unknown): string {
  return e instanceof Error ? e.message : String(e);
}

/** `e` if it is a CairnError, else an INTERNAL error that keeps it as its cause. */
export function asCairnError(e: unknown): CairnError {
  return e instanceof CairnError ? e : new InternalError(messageOf(e), { cause: e });
}

function text(v: unknown): string {
  return typeof v === 'string' ? v : String(v ?? '');
}

function count(v: unknown): number {
  return typeof v === 'number' ? v : Number(v);
}

function optionalCount(v: unknown): number | undefined {
  return typeof v === 'number' ? v : undefined;
}

function expectedVersion(v: unknown): ExpectedVersionValue {
  return v === 'no_stream' || v === 'stream_exists' || v === 'any' ? v : count(v);
}

function commandDetail(v: unknown): CommandDetail {
  const d = (typeof v === 'object' && v !== null ? v : {}) as Partial<CommandDetail>;
  return { category: text(d.category), id: text(d.id), command: d.command ?? null, index: count(d.index ?? 0) };
}
