/**
 * Errors as data: a CairnError is flattened to a plain object at the boundary and rebuilt
 * as the same subclass, with the same code, message and fields, on the other side.
 */
import {
  CairnError,
  DuplicateEventIdError,
  ErrorCode,
  InternalError,
  InvalidArgumentError,
  InvalidEventError,
  InvalidStreamError,
  NoLeaderError,
  ProjectionFailedError,
  QuotaExceededError,
  ReadOnlyQueryError,
  StorageUnavailableError,
  StoreClosedError,
  SyncRejectedError,
  UnauthorizedError,
  UpcastError,
  VersionConflictError,
  type ExpectedVersionValue,
} from '../core/errors.ts';

/** A CairnError flattened for postMessage. */
export interface SerializedError {
  code: ErrorCode;
  message: string;
  stack?: string;
  fields: Record<string, unknown>;
}

const FIELDS = ['stream', 'expected', 'actual', 'index', 'id', 'projection', 'type', 'schemaVersion'] as const;

/** Flattens any thrown value; what is not a CairnError becomes INTERNAL. */
export function serializeError(e: unknown): SerializedError {
  const error =
    e instanceof CairnError ? e : new InternalError(e instanceof Error ? e.message : String(e), { cause: e });
  const fields: Record<string, unknown> = {};
  for (const key of FIELDS) {
    const value = (error as unknown as Record<string, unknown>)[key];
    if (value !== undefined) fields[key] = value;
  }
  const out: SerializedError = { code: error.code, message: error.message, fields };
  if (error.stack !== undefined) out.stack = error.stack;
  return out;
}

/** Rebuilds the CairnError subclass a serialized error came from. */
export function deserializeError(s: SerializedError): CairnError {
  const f = s.fields;
  const str = (key: string): string => String(f[key] ?? '');
  let error: CairnError;
  switch (s.code) {
    case ErrorCode.VERSION_CONFLICT:
      error = new VersionConflictError(str('stream'), f.expected as ExpectedVersionValue, Number(f.actual));
      break;
    case ErrorCode.INVALID_EVENT:
      error = new InvalidEventError(s.message, f.index as number | undefined);
      break;
    case ErrorCode.INVALID_STREAM:
      error = new InvalidStreamError(str('stream'), s.message);
      break;
    case ErrorCode.INVALID_ARGUMENT:
      error = new InvalidArgumentError(s.message);
      break;
    case ErrorCode.DUPLICATE_EVENT_ID:
      error = new DuplicateEventIdError(str('id'), s.message);
      break;
    case ErrorCode.READ_ONLY_QUERY:
      error = new ReadOnlyQueryError(s.message);
      break;
    case ErrorCode.PROJECTION_FAILED:
      error = new ProjectionFailedError(str('projection'), s.message);
      break;
    case ErrorCode.QUOTA_EXCEEDED:
      error = new QuotaExceededError(s.message);
      break;
    case ErrorCode.STORAGE_UNAVAILABLE:
      error = new StorageUnavailableError(s.message);
      break;
    case ErrorCode.STORE_CLOSED:
      error = new StoreClosedError(s.message);
      break;
    case ErrorCode.UPCAST_FAILED:
      error = new UpcastError(str('type'), Number(f.schemaVersion), s.message);
      break;
    case ErrorCode.NO_LEADER:
      error = new NoLeaderError(s.message);
      break;
    case ErrorCode.SYNC_REJECTED:
      error = new SyncRejectedError(s.message, typeof f.stream === 'string' ? f.stream : undefined);
      break;
    case ErrorCode.UNAUTHORIZED:
      error = new UnauthorizedError(s.message);
      break;
    default:
      error = new InternalError(s.message);
  }
  error.message = s.message;
  if (s.stack !== undefined) error.stack = s.stack;
  return error;
}
