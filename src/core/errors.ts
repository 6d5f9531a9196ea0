/**
 * Every failure Cairn reports is a `CairnError` with a stable `code`.
 * Each code has its own subclass with typed fields; the wire codec in
 * `src/protocol/error-codec.ts` rebuilds the same class on the far side of a worker.
 */

/** The stable error codes. */
export const ErrorCode = {
  VERSION_CONFLICT: 'VERSION_CONFLICT',
  INVALID_EVENT: 'INVALID_EVENT',
  INVALID_STREAM: 'INVALID_STREAM',
  INVALID_ARGUMENT: 'INVALID_ARGUMENT',
  DUPLICATE_EVENT_ID: 'DUPLICATE_EVENT_ID',
  READ_ONLY_QUERY: 'READ_ONLY_QUERY',
  PROJECTION_FAILED: 'PROJECTION_FAILED',
  QUOTA_EXCEEDED: 'QUOTA_EXCEEDED',
  STORAGE_UNAVAILABLE: 'STORAGE_UNAVAILABLE',
  STORE_CLOSED: 'STORE_CLOSED',
  NO_LEADER: 'NO_LEADER',
  UPCAST_FAILED: 'UPCAST_FAILED',
  SYNC_REJECTED: 'SYNC_REJECTED',
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
  /** The index of the offending event within its append call, when known. */
  readonly index: number | undefined;
  constructor(message: string, index?: number) {
    super(ErrorCode.INVALID_EVENT, message);
    this.name = 'InvalidEventError';
    this.index = index;
  }
}

/** A stream name was empty, too long, or contained control characters. */
export class InvalidStreamError extends CairnError {
  readonly stream: string;
  constructor(stream: string, message: string) {
    super(ErrorCode.INVALID_STREAM, message);
    this.name = 'InvalidStreamError';
    this.stream = stream;
  }
}

/** An option or argument other than an event or a stream name was malformed (a cursor, a limit...). */
export class InvalidArgumentError extends CairnError {
  constructor(message: string) {
    super(ErrorCode.INVALID_ARGUMENT, message);
    this.name = 'InvalidArgumentError';
  }
}

/** An event id already belongs to another event. */
export class DuplicateEventIdError extends CairnError {
  readonly id: string;
  constructor(id: string, message?: string) {
    super(ErrorCode.DUPLICATE_EVENT_ID, message ?? `Event id ${id} is already used by another event`);
    this.name = 'DuplicateEventIdError';
    this.id = id;
  }
}

/** A query tried to write. */
export class ReadOnlyQueryError extends CairnError {
  constructor(message: string) {
    super(ErrorCode.READ_ONLY_QUERY, message);
    this.name = 'ReadOnlyQueryError';
  }
}

/** A projection handler threw; the append that fed it was rolled back. */
export class ProjectionFailedError extends CairnError {
  readonly projection: string;
  constructor(projection: string, message: string, options?: { cause?: unknown }) {
    super(ErrorCode.PROJECTION_FAILED, message, options);
    this.name = 'ProjectionFailedError';
    this.projection = projection;
  }
}

/** The browser refused to store more data. Nothing of the failed write was kept. */
export class QuotaExceededError extends CairnError {
  constructor(message: string, options?: { cause?: unknown }) {
    super(ErrorCode.QUOTA_EXCEEDED, message, options);
    this.name = 'QuotaExceededError';
  }
}

/** The requested storage could not be opened. */
export class StorageUnavailableError extends CairnError {
  constructor(message: string, options?: { cause?: unknown }) {
    super(ErrorCode.STORAGE_UNAVAILABLE, message, options);
    this.name = 'StorageUnavailableError';
  }
}

/** The store was closed (or its worker stopped) before the call could run. */
export class StoreClosedError extends CairnError {
  constructor(message = 'The store is closed') {
    super(ErrorCode.STORE_CLOSED, message);
    this.name = 'StoreClosedError';
  }
}

/** No tab became leader within the timeout. */
export class NoLeaderError extends CairnError {
  constructor(message: string) {
    super(ErrorCode.NO_LEADER, message);
    this.name = 'NoLeaderError';
  }
}

/** A stored event could not be brought to its latest schema version. */
export class UpcastError extends CairnError {
  readonly type: string;
  readonly schemaVersion: number;
  constructor(type: string, schemaVersion: number, message: string, options?: { cause?: unknown }) {
    super(ErrorCode.UPCAST_FAILED, message, options);
    this.name = 'UpcastError';
    this.type = type;
    this.schemaVersion = schemaVersion;
  }
}

/** The sync server refused a push (a stream the caller may not write, or a body too large). */
export class SyncRejectedError extends CairnError {
  /** The stream that was refused, when one was. */
  readonly stream: string | undefined;
  constructor(message: string, stream?: string) {
    super(ErrorCode.SYNC_REJECTED, message);
    this.name = 'SyncRejectedError';
    this.stream = stream;
  }
}

/** The sync server did not accept the caller's credentials (none, or a bad token). */
export class UnauthorizedError extends CairnError {
  constructor(message = 'Unauthorized') {
    super(ErrorCode.UNAUTHORIZED, message);
    this.name = 'UnauthorizedError';
  }
}

/** An unexpected failure inside Cairn or SQLite; `cause` holds the original. */
export class InternalError extends CairnError {
  constructor(message: string, options?: { cause?: unknown }) {
    super(ErrorCode.INTERNAL, message, options);
    this.name = 'InternalError';
  }
}

/** True when `e` is any Cairn error (by `code`, so it also works across realms). */
export function isCairnError(e: unknown): e is CairnError {
  return (
    e instanceof CairnError ||
    (typeof e === 'object' && e !== null && typeof (e as { code?: unknown }).code === 'string' &&
      (e as { code: string }).code in ErrorCode)
  );
}

/** True when `e` is a version conflict. */
export const isVersionConflict = guard<VersionConflictError>(ErrorCode.VERSION_CONFLICT);
/** True when `e` is an invalid event. */
export const isInvalidEvent = guard<InvalidEventError>(ErrorCode.INVALID_EVENT);
/** True when `e` is an invalid stream name. */
export const isInvalidStream = guard<InvalidStreamError>(ErrorCode.INVALID_STREAM);
/** True when `e` is a duplicate event id. */
export const isDuplicateEventId = guard<DuplicateEventIdError>(ErrorCode.DUPLICATE_EVENT_ID);
/** True when `e` is a rejected write in a read-only query. */
export const isReadOnlyQuery = guard<ReadOnlyQueryError>(ErrorCode.READ_ONLY_QUERY);
/** True when `e` is a failed projection. */
export const isProjectionFailed = guard<ProjectionFailedError>(ErrorCode.PROJECTION_FAILED);
/** True when `e` is a quota failure. */
export const isQuotaExceeded = guard<QuotaExceededError>(ErrorCode.QUOTA_EXCEEDED);
/** True when `e` is unavailable storage. */
export const isStorageUnavailable = guard<StorageUnavailableError>(ErrorCode.STORAGE_UNAVAILABLE);
/** True when `e` is a call on a closed store. */
export const isStoreClosed = guard<StoreClosedError>(ErrorCode.STORE_CLOSED);
/** True when `e` is a failed upcast. */
export const isUpcastFailed = guard<UpcastError>(ErrorCode.UPCAST_FAILED);
/** True when `e` is a missing leader. */
export const isNoLeader = guard<NoLeaderError>(ErrorCode.NO_LEADER);
/** True when `e` is a push the sync server refused. */
export const isSyncRejected = guard<SyncRejectedError>(ErrorCode.SYNC_REJECTED);
/** True when `e` is credentials the sync server did not accept. */
export const isUnauthorized = guard<UnauthorizedError>(ErrorCode.UNAUTHORIZED);

function guard<T extends CairnError>(code: ErrorCode): (e: unknown) => e is T {
  return (e: unknown): e is T => isCairnError(e) && e.code === code;
}
