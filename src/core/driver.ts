/**
 * The synchronous SQL driver the core runs on. sqlite-wasm's oo1 API is adapted to it in
 * `sqlite-wasm-driver.ts`; any other synchronous SQLite binding can be wrapped the same way.
 */

/** A value SQLite can bind or return. */
export type SqlValue = string | number | bigint | Uint8Array | null;

/** A result row, keyed by column name. */
export type Row = Record<string, SqlValue>;

/** What a write statement did. */
export interface RunResult {
  changes: number;
  lastInsertRowid: number;
}

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
}
