/** Errors as the sync server sends them: the worker boundary's codec, without stacks. */
import { CairnError, ErrorCode, InternalError } from '../src/core/errors.ts';
import { serializeError, type SerializedError } from '../src/protocol/error-codec.ts';

/**
 * Serializes a CairnError for a client. The stack stays on the server, and anything that is
 * not a CairnError, or is INTERNAL, becomes a bare INTERNAL: no detail of a server fault
 * leaks out (the log has it).
 */
export function wireError(e: unknown): SerializedError {
  const error = e instanceof CairnError && e.code !== ErrorCode.INTERNAL ? e : new InternalError('Internal server error');
  const { stack: _stack, ...out } = serializeError(error);
  return out;
}
