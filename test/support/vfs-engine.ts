/**
 * Opens the real engine on a database in the crash VFS, the way the worker opens one on OPFS:
 * the PRAGMAs run first, before anything reads the database (exclusive locking must be set
 * before the WAL is opened, since the VFS has no shared memory).
 *
 * The engine's driver is the real sqlite-wasm driver behind a pass-through that only records
 * which statement is running, so that a test can tell whether a storage fault hit inside an
 * append's own statements or in the transaction's BEGIN or COMMIT.
 */
import type { Sqlite3Static } from '@sqlite.org/sqlite-wasm';
import type { QueryOptions, QueryResult, SqlDriver, SqlValue } from '../../src/core/driver.ts';
import { createEngine, type Engine, type EngineOptions } from '../../src/core/engine.ts';
import { createSqliteWasmDriver } from '../../src/core/sqlite-wasm-driver.ts';
import type { CrashVfs } from './crash-vfs.ts';

/** The file name of the database inside the VFS. */
export const DB_FILE = '/db';

/** An engine and the driver under it (for checks the engine does not offer, such as integrity_check). */
export interface VfsEngine {
  engine: Engine;
  driver: SqlDriver;
  /** `PRAGMA integrity_check`, its rows joined: `ok` when the database is sound. */
  integrity(): string;
  /** The SQL text of the statement running now, if any. */
  readonly running: string | undefined;
  /** Closes the engine; errors (a dead disk) are swallowed, and the database is closed regardless. */
  close(): Promise<void>;
}

/** Opens an engine on `/db` in `vfs`, running `pragmas` first. */
export function openVfsEngine(sqlite3: Sqlite3Static, vfs: CrashVfs, pragmas: string, options: EngineOptions = {}): VfsEngine {
  const db = new sqlite3.oo1.DB({ filename: DB_FILE, vfs: vfs.name, flags: 'c' });
  let engine: Engine;
  let driver: SqlDriver;
  let running: string | undefined;
  const track = <T>(sql: string, run: () => T): T => {
    const outer = running;
    running = sql;
    try {
      return run();
    } finally {
      running = outer;
    }
  };
  try {
    db.exec(pragmas);
    driver = createSqliteWasmDriver(sqlite3, db);
    engine = createEngine(tracing(driver, track), options);
  } catch (e) {
    db.close();
    throw e;
  }
  return {
    engine,
    driver,
    get running() {
      return running;
    },
    integrity: () => driver.all<{ integrity_check: string }>('PRAGMA integrity_check').map((r) => r.integrity_check).join('; '),
    async close() {
      try {
        await engine.close();
      } catch {
        // A disk that lost power fails the final checkpoint; the handle must go anyway.
      }
      if (db.isOpen()) db.close();
    },
  };
}

/** The same driver, every statement run through `track`. */
function tracing(driver: SqlDriver, track: <T>(sql: string, run: () => T) => T): SqlDriver {
  const traced: SqlDriver = {
    exec: (sql) => track(sql, () => driver.exec(sql)),
    run: (sql, params) => track(sql, () => driver.run(sql, params)),
    all: <T>(sql: string, params?: readonly SqlValue[]) => track(sql, () => driver.all<T>(sql, params)),
    get: <T>(sql: string, params?: readonly SqlValue[]) => track(sql, () => driver.get<T>(sql, params)),
    close: () => driver.close(),
  };
  const { query, onRowChange, inTransaction, fenced } = driver;
  if (query !== undefined) {
    traced.query = <T>(sql: string, params?: readonly SqlValue[], options?: QueryOptions) =>
      track(sql, () => query.call(driver, sql, params, options) as QueryResult<T>);
  }
  if (onRowChange !== undefined) traced.onRowChange = (listener) => onRowChange.call(driver, listener);
  if (inTransaction !== undefined) traced.inTransaction = () => inTransaction.call(driver);
  if (fenced !== undefined) traced.fenced = (fence) => fenced.call(driver, fence);
  return traced;
}
