/**
 * Adapts an `@sqlite.org/sqlite-wasm` oo1 `Database` to the core's `SqlDriver`.
 * Statements are prepared once per SQL text and reused; that is most of the cost of a
 * small write, so the cache is not optional.
 */
import type { BindingSpec, Database, PreparedStatement, Sqlite3Static } from '@sqlite.org/sqlite-wasm';
import type { Row, RunResult, SqlDriver, SqlValue } from './driver.ts';

interface Prepared {
  stmt: PreparedStatement;
  columns: string[];
}

/** Wraps an open oo1 database. */
export function createSqliteWasmDriver(sqlite3: Sqlite3Static, db: Database): SqlDriver {
  const cache = new Map<string, Prepared>();
  // Without the query planner stability guarantee, this build of SQLite re-prepares a
  // statement whose WHERE has a bound parameter every time a new value is bound (its plan
  // may depend on the value), so the cache saved nothing for them: measured here, 9,999
  // re-prepares in 10,000 runs of `SELECT max(version) ... WHERE stream = ?`, 45 us each
  // against 11 us with QPSG. Cairn names its indexes, so its plans never depend on values.
  const qpsg = sqlite3.capi.sqlite3_db_config(db, sqlite3.capi.SQLITE_DBCONFIG_ENABLE_QPSG, 1, 0);
  if (qpsg !== 0) throw new Error(`Could not enable SQLITE_DBCONFIG_ENABLE_QPSG (rc ${qpsg})`);

  function prepare(sql: string, params: readonly SqlValue[] | undefined): Prepared {
    let p = cache.get(sql);
    if (p === undefined) {
      const stmt = db.prepare(sql);
      p = { stmt, columns: stmt.columnCount > 0 ? stmt.getColumnNames() : [] };
      cache.set(sql, p);
    }
    if (params !== undefined && params.length > 0) p.stmt.bind(params as BindingSpec);
    return p;
  }

  return {
    exec(sql) {
      db.exec(sql);
    },
    run(sql, params): RunResult {
      const { stmt } = prepare(sql, params);
      try {
        stmt.step();
      } finally {
        stmt.reset(true);
      }
      return {
        changes: db.changes(),
        lastInsertRowid: Number(sqlite3.capi.sqlite3_last_insert_rowid(db)),
      };
    },
    all<T = Row>(sql: string, params?: readonly SqlValue[]): T[] {
      const { stmt, columns } = prepare(sql, params);
      const rows: T[] = [];
      try {
        while (stmt.step()) rows.push(readRow(stmt, columns) as T);
      } finally {
        stmt.reset(true);
      }
      return rows;
    },
    get<T = Row>(sql: string, params?: readonly SqlValue[]): T | undefined {
      const { stmt, columns } = prepare(sql, params);
      try {
        return stmt.step() ? (readRow(stmt, columns) as T) : undefined;
      } finally {
        stmt.reset(true);
      }
    },
    close() {
      for (const { stmt } of cache.values()) stmt.finalize();
      cache.clear();
      db.close();
    },
  };
}

function readRow(stmt: PreparedStatement, columns: string[]): Row {
  const row: Row = {};
  for (let i = 0; i < columns.length; i++) row[columns[i]!] = stmt.get(i) as SqlValue;
  return row;
}
