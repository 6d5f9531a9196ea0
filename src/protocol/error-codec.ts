/**
 * Errors as data: a CairnError is flattened to a plain object at a boundary (worker, tab,
 * network) and rebuilt as the same subclass on the other side, with its code, message,
 * fields (those `ERROR_TABLE` lists for its code), stack and cause.
 *
 * - What is not a CairnError is sent as INTERNAL, keeping its message and itself as cause.
 * - An unknown code (a newer peer) is rebuilt as INTERNAL that keeps the original code and
 *   message, never silently as something else.
 * - A rebuilt error remembers the wire form it came from, so an error relayed across two
 *   boundaries (leader → follower's worker → page) is sent on exactly as it arrived.
 * - What arrives is not trusted: anything malformed becomes an INTERNAL error saying so.
 */
import {
  ERROR_TABLE,
  InternalError,
  asCairnError,
  isErrorCode,
  type CairnError,
  type ErrorCode,
} from '../core/errors.ts';

/** A thrown value that is not a CairnError, as a cause. */
export interface SerializedCause {
  name: string;
  message: string;
  stack?: string;
}

/** A CairnError flattened for postMessage or JSON. */
export interface SerializedError {
  code: ErrorCode;
  message: string;
  fields: Record<string, unknown>;
  stack?: string;
  cause?: SerializedError | SerializedCause;
}

/** How deep a chain of causes is carried. */
const MAX_CAUSES = 4;

const relayed = new WeakMap<object, SerializedError>();

/** Flattens any thrown value; what is not a CairnError becomes INTERNAL. */
export function serializeError(e: unknown): SerializedError {
  if (typeof e === 'object' && e !== null) {
    const original = relayed.get(e);
    if (original !== undefined) return original;
  }
  return flatten(asCairnError(e), MAX_CAUSES);
}

/** Rebuilds the CairnError subclass a serialized error came from. */
export function deserializeError(data: unknown): CairnError {
  if (!isSerializedError(data)) {
    return new InternalError(`A malformed error arrived from the other side: ${preview(data)}`);
  }
  const error = rebuild(data, MAX_CAUSES);
  relayed.set(error, data);
  return error;
}

function flatten(error: CairnError, depth: number): SerializedError {
  const spec = ERROR_TABLE[error.code];
  const fields: Record<string, unknown> = {};
  for (const key of spec.fields) {
    const value = (error as unknown as Record<string, unknown>)[key];
    if (value !== undefined) fields[key] = value;
  }
  const out: SerializedError = { code: error.code, message: error.message, fields };
  if (error.stack !== undefined) out.stack = error.stack;
  const cause = flattenCause(error.cause, depth - 1);
  if (cause !== undefined) out.cause = cause;
  return out;
}

function flattenCause(cause: unknown, depth: number): SerializedError | SerializedCause | undefined {
  if (cause === undefined || depth <= 0) return undefined;
  if (typeof cause === 'object' && cause !== null && isErrorCode((cause as { code?: unknown }).code) && cause instanceof Error) {
    return flatten(cause as CairnError, depth);
  }
  const out: SerializedCause = {
    name: cause instanceof Error ? cause.name : typeof cause,
    message: cause instanceof Error ? cause.message : String(cause),
  };
  if (cause instanceof Error && cause.stack !== undefined) out.stack = cause.stack;
  return out;
}

function rebuild(s: SerializedError, depth: number): CairnError {
  const error = isErrorCode(s.code)
    ? ERROR_TABLE[s.code].rebuild(s.message, s.fields)
    : new InternalError(`${s.code}: ${s.message}`, { originalCode: String(s.code) });
  if (isErrorCode(s.code)) error.message = s.message;
  if (typeof s.stack === 'string') error.stack = s.stack;
  const cause = depth > 1 ? rebuildCause(s.cause, depth - 1) : undefined;
  if (cause !== undefined) Object.defineProperty(error, 'cause', { value: cause, writable: true, configurable: true });
  return error;
}

function rebuildCause(cause: unknown, depth: number): Error | undefined {
  if (typeof cause !== 'object' || cause === null) return undefined;
  if (isSerializedError(cause)) return rebuild(cause, depth);
  const c = cause as Partial<SerializedCause>;
  if (typeof c.message !== 'string') return undefined;
  const error = new Error(c.message);
  if (typeof c.name === 'string') error.name = c.name;
  if (typeof c.stack === 'string') error.stack = c.stack;
  return error;
}

function isSerializedError(data: unknown): data is SerializedError {
  if (typeof data !== 'object' || data === null) return false;
  const s = data as Record<string, unknown>;
  return (
    typeof s.code === 'string' &&
    typeof s.message === 'string' &&
    typeof s.fields === 'object' &&
    s.fields !== null &&
    !Array.isArray(s.fields)
  );
}

function preview(data: unknown): string {
  try {
    return (JSON.stringify(data) ?? String(data)).slice(0, 200);
  } catch {
    return String(data).slice(0, 200);
  }
}
