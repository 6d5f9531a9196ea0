/**
 * The synchronous SQL driver the core runs on. sqlite-wasm's oo1 API is adapted to it in
 * `sqlite-wasm-driver.ts`; any other synchronous SQLite binding can be wrapped the same way.
 *
 * Two capabilities are optional, because not every binding exposes SQLite's authorizer and
 * hooks: `query` (read-only statements, enforced by SQLite) and `onRowChange` (which tables
 * a write touched). Without them `store.query` is unavailable and commit notices name the
 * tables Cairn itself knows it wrote.
 *
 * A driver reports SQLite's failures as `SqlError`s carrying the result code's name, so the
 * core decides by name (`FULL`, `CONSTRAINT_UNIQUE`, `TOOBIG`...) and never by number or
 * message text.
 */

import type { Fence } from './authorizer.ts';
import { InternalError } from './errors.ts';

/** A value SQLite can bind or return. */
export type SqlValue = string | number | bigint | Uint8Array | null;

/** A result row, keyed by column name. */
export type Row = Record<string, SqlValue>;

/** What a write statement did. */
export interface RunResult {
  changes: number;
  lastInsertRowid: number;
}

/** The rows of a read-only statement and the tables SQLite reported it reads. */
export interface QueryResult<T = Row> {
  rows: T[];
  /** The tables (and views' underlying tables) the statement reads, lower-cased. */
  tables: string[];
}

/** Options of a read-only query. */
export interface QueryOptions {
  /** The query's time budget, in ms: past it SQLite interrupts it and it fails with QUERY_TIMEOUT. */
  timeoutMs?: number;
}

/**
 * What a piece of work changed, as SQLite's session extension records it, and how to undo
 * it: what the sync engine uses to take pending local events (and what projections made of
 * them) out of the log, so that the server's events can go before them.
 */
export interface ChangeCapture {
  /** Runs `fn`, and returns what it changed in the tables `include` accepts (tables with a primary key only). */
  record<T>(fn: () => T, include: (table: string) => boolean): { result: T; changeset: Uint8Array };
  /**
   * Undoes changesets, the newest given last (it is undone first). False, with nothing
   * reliable undone, if the database no longer holds what a changeset recorded (the caller
   * then rolls back to a savepoint and takes the slow way).
   */
  undo(changesets: readonly Uint8Array[]): boolean;
}

/** The statements a fenced view of the connection may run (see `SqlDriver.fenced`). */
export type FencedDriver = Pick<SqlDriver, 'exec' | 'run' | 'all' | 'get'>;

/** A synchronous connection to one SQLite database. Implementations cache prepared statements by SQL text. */
export interface SqlDriver {
  /** Runs one or more statements that return no rows. */
  exec(sql: string): void;
  /** Runs one statement and reports its changes. */
  run(sql: string, params?: readonly SqlValue[]): RunResult;
  /** Runs one statement and returns every row. */
  all<T = Row>(sql: string, params?: readonly SqlValue[]): T[];
  /** Runs one statement and returns its first row. */
  get<T = Row>(sql: string, params?: readonly SqlValue[]): T | undefined;
  /** Closes the connection; statements are finalised. */
  close(): void;
  /**
   * Optional: runs exactly one statement that SQLite itself proves read-only (its authorizer
   * and `sqlite3_stmt_readonly`), and reports the tables it reads. Throws READ_ONLY_QUERY
   * for anything else: writes, DDL, ATTACH, transaction control, PRAGMA writes, and strings
   * holding more than one statement.
   */
  query?<T = Row>(sql: string, params?: readonly SqlValue[], options?: QueryOptions): QueryResult<T>;
  /**
   * Optional: a view of the connection whose statements SQLite itself holds to `fence`
   * (prepared under an authorizer, in a cache of their own): what projection handlers run
   * on. A refused statement throws INVALID_ARGUMENT naming what was refused.
   */
  fenced?(fence: Fence): FencedDriver;
  /** Optional: change capture through SQLite's session extension (needed to sync). */
  changes?: ChangeCapture;
  /** Optional: true while a transaction is open (SQLite rolls one back by itself after some failures). */
  inTransaction?(): boolean;
  /** Optional: calls `listener` with the (lower-cased) table of every row inserted, updated or deleted. */
  onRowChange?(listener: (table: string) => void): () => void;
  /** Optional: the whole database as a SQLite database file (for `store.backup`); called between transactions. */
  serialize?(): Uint8Array;
}

/**
 * A failure SQLite reported, named by its result code without the `SQLITE_` prefix:
 * `sqlite` is the extended name (`CONSTRAINT_UNIQUE`, `IOERR_WRITE`), `primary` the primary
 * one (`CONSTRAINT`, `IOERR`). It is INTERNAL until the core maps it to what it means.
 */
export class SqlError extends InternalError {
  /** The extended result code's name, e.g. `CONSTRAINT_UNIQUE`. */
  readonly sqlite: string;
  /** The primary result code's name, e.g. `CONSTRAINT`. */
  readonly primary: string;
  constructor(sqlite: string, message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = 'SqlError';
    this.sqlite = sqlite;
    const underscore = sqlite.indexOf('_');
    this.primary = underscore === -1 ? sqlite : sqlite.slice(0, underscore);
  }
}

/** True when `e` is a SqlError, of result code `name` (extended or primary) if one is given. */
export function isSqlError(e: unknown, name?: string): e is SqlError {
  return e instanceof SqlError && (name === undefined || e.sqlite === name || e.primary === name);
}
