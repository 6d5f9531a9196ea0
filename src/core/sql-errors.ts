/**
 * What SQLite's failures mean to a caller, by result code name (see `SqlError`):
 * - `FULL`: the disk or the origin's quota is full: QUOTA_EXCEEDED;
 * - `IOERR*` (a failed read, write or sync), `CANTOPEN`, `CORRUPT`, `NOTADB`: the storage
 *   failed under us: STORAGE_UNAVAILABLE;
 * - anything else is unexpected: INTERNAL, keeping the original as its cause.
 */
import { isSqlError } from './driver.ts';
import { CairnError, InternalError, QuotaExceededError, StorageUnavailableError, messageOf } from './errors.ts';

const STORAGE_FAILURES = new Set(['IOERR', 'CANTOPEN', 'CORRUPT', 'NOTADB']);

/** Maps whatever a driver threw to the CairnError it means. */
export function toCairnError(e: unknown): CairnError {
  if (isSqlError(e, 'FULL')) return new QuotaExceededError(`Storage is full: ${e.message}`, { cause: e });
  if (isSqlError(e) && STORAGE_FAILURES.has(e.primary)) {
    return new StorageUnavailableError(`The storage failed (SQLITE_${e.sqlite}): ${e.message}`, { cause: e });
  }
  if (e instanceof CairnError) return e;
  return new InternalError(messageOf(e), { cause: e });
}

/** True when a failure leaves the connection's transaction gone, so nothing more of it can run. */
export function endsTransaction(e: unknown): boolean {
  return isSqlError(e) && (e.primary === 'FULL' || e.primary === 'IOERR' || e.primary === 'NOMEM' || e.primary === 'CORRUPT');
}
