/**
 * A full origin on OPFS. The sahpool VFS catches the browser's `QuotaExceededError` and
 * returns a plain SQLITE_IOERR, which the engine would report as STORAGE_UNAVAILABLE; the
 * DOMException itself is visible only through the VFS's error log (FINDINGS: "Quota on
 * OPFS"). So the worker hands sqlite-wasm an error logger before it loads (the VFS keeps
 * the logger it finds at load time), counts the quota errors it logs, and a driver wrapper
 * reports an I/O error that came with one as SQLITE_FULL, which the engine maps to
 * QUOTA_EXCEEDED (and treats, as it does a full disk, as the end of the transaction).
 */
import { SqlError, isSqlError, type SqlDriver } from '../src/core/driver.ts';

/** Quota errors the VFS has logged since the worker started. */
let quotaErrors = 0;

/** Installs the error logger; call before sqlite-wasm is first loaded in this worker. */
export function watchVfsErrors(): void {
  const g = globalThis as { sqlite3ApiConfig?: Record<string, unknown> };
  const error = (...args: unknown[]): void => {
    if (args.some((a) => (a as { name?: unknown } | null)?.name === 'QuotaExceededError')) quotaErrors++;
    else console.error(...args);
  };
  g.sqlite3ApiConfig = { ...g.sqlite3ApiConfig, error };
}

/** `driver`, with an I/O error that came with a logged quota error reported as SQLITE_FULL. */
export function quotaAware(driver: SqlDriver): SqlDriver {
  const wrap =
    <A extends unknown[], R>(fn: (...args: A) => R) =>
    (...args: A): R => {
      const before = quotaErrors;
      try {
        return fn(...args);
      } catch (e) {
        if (quotaErrors !== before && isSqlError(e, 'IOERR')) {
          throw new SqlError('FULL', `The origin's storage quota is full (the VFS reported ${e.sqlite})`, { cause: e });
        }
        throw e;
      }
    };
  return {
    ...driver,
    exec: wrap(driver.exec),
    run: wrap(driver.run),
    get: wrap(driver.get) as SqlDriver['get'],
    all: wrap(driver.all) as SqlDriver['all'],
  };
}
