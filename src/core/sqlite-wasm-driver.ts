/**
 * Adapts an `@sqlite.org/sqlite-wasm` oo1 `Database` to the core's `SqlDriver`.
 * Statements are prepared once per SQL text and reused; that is most of the cost of a
 * small write, so the cache is not optional.
 *
 * It also gives the driver's optional capabilities:
 * - `query`: SQLite's authorizer (one per connection, installed here once) denies every
 *   action but reading while a user statement is prepared, and records the tables it reads;
 *   `sqlite3_stmt_readonly` is checked too, and the tail after the first statement must
 *   prepare to nothing. The authorizer only runs while a statement is prepared (or
 *   re-prepared after a schema change), so cached statements pay nothing for it.
 * - `onRowChange`: SQLite's pre-update hook reports the table of every row change. It is
 *   used rather than the update hook because it also fires for WITHOUT ROWID tables, and
 *   it turns off the truncate optimisation (`DELETE FROM t`), which would bypass a hook.
 */
import type { BindingSpec, Database, PreparedStatement, Sqlite3Static } from '@sqlite.org/sqlite-wasm';
import { SqlError, type QueryResult, type Row, type RunResult, type SqlDriver, type SqlValue } from './driver.ts';
import { InternalError, InvalidArgumentError, ReadOnlyQueryError } from './errors.ts';

interface Prepared {
  stmt: PreparedStatement;
  columns: string[];
}

interface PreparedQuery extends Prepared {
  tables: string[];
}

/** How many distinct read-only query texts keep a prepared statement. */
const QUERY_CACHE_SIZE = 64;

/** Wraps an open oo1 database. */
export function createSqliteWasmDriver(sqlite3: Sqlite3Static, db: Database): SqlDriver {
  const { capi, wasm } = sqlite3;
  const cache = new Map<string, Prepared>();
  // Without the query planner stability guarantee, this build of SQLite re-prepares a
  // statement whose WHERE has a bound parameter every time a new value is bound (its plan
  // may depend on the value), so the cache saved nothing for them: measured here, 9,999
  // re-prepares in 10,000 runs of `SELECT max(version) ... WHERE stream = ?`, 45 us each
  // against 11 us with QPSG. Cairn names its indexes, so its plans never depend on values.
  const qpsg = sqlite3.capi.sqlite3_db_config(db, sqlite3.capi.SQLITE_DBCONFIG_ENABLE_QPSG, 1, 0);
  if (qpsg !== 0) throw new InternalError(`Could not enable SQLITE_DBCONFIG_ENABLE_QPSG (rc ${qpsg})`);

  const queries = new Map<string, PreparedQuery>();
  let querySchema = -1;
  const rowListeners = new Set<(table: string) => void>();
  let hooked = false;

  // The one authorizer of this connection: it allows everything unless a read-only
  // check is in progress. Installing it expires prepared statements, so it is done once.
  let authorize: ((action: number, a1: string, a2: string) => number) | undefined;
  capi.sqlite3_set_authorizer(
    db,
    (_ctx, action, a1, a2) => (authorize === undefined ? 0 : authorize(action, str(a1), str(a2))),
    0,
  );

  function rcName(rc: number): string {
    return (capi.sqlite3_js_rc_str(rc) ?? `SQLITE_${rc}`).replace(/^SQLITE_/, '');
  }

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

  function getRow(sql: string, params: readonly SqlValue[] | undefined): Row | undefined {
    const { stmt, columns } = prepare(sql, params);
    try {
      return stmt.step() ? readRow(stmt, columns) : undefined;
    } finally {
      stmt.reset(true);
    }
  }

  /** Proves `sql` is one read-only statement, returning the tables it reads. */
  function checkReadOnly(sql: string): string[] {
    const tables = new Set<string>();
    let refused: string | undefined;
    authorize = (action, a1, a2) => {
      if (action === SQLITE_READ) {
        tables.add(a1.toLowerCase());
        return 0;
      }
      if (action === SQLITE_SELECT || action === SQLITE_FUNCTION || action === SQLITE_RECURSIVE) return 0;
      if (action === SQLITE_PRAGMA && READ_PRAGMAS.has(a1.toLowerCase()) && (a2 === '' || PRAGMAS_WITH_ARGUMENT.has(a1.toLowerCase()))) {
        return 0;
      }
      refused ??= `${ACTION_NAMES[action] ?? `action ${action}`}${a1 ? ` ${a1}` : ''}`;
      return SQLITE_DENY;
    };
    const [pSql, length] = wasm.allocCString(sql, true);
    const stack = wasm.pstack.pointer;
    let pStmt = 0;
    try {
      const ppStmt = wasm.pstack.alloc(8);
      const ppTail = wasm.pstack.alloc(8);
      const rc = capi.sqlite3_prepare_v3(db, pSql, length, 0, ppStmt, ppTail);
      pStmt = Number(wasm.peekPtr(ppStmt));
      if (rc === SQLITE_AUTH) {
        throw new ReadOnlyQueryError(`store.query only reads, and SQLite refused this statement (${refused ?? 'a write'})`);
      }
      if (rc !== 0) throw new InvalidArgumentError(`SQL error: ${capi.sqlite3_errmsg(db)}`, { cause: new SqlError(rcName(rc), capi.sqlite3_errmsg(db)) });
      if (pStmt === 0) throw new InvalidArgumentError('store.query needs one SQL statement, got none');
      // What follows the first statement must prepare to nothing (blanks, comments, ';').
      const tail = Number(wasm.peekPtr(ppTail));
      const rest = length - (tail - pSql);
      if (rest > 0) {
        const rc2 = capi.sqlite3_prepare_v3(db, tail, rest, 0, ppStmt, ppTail);
        const second = Number(wasm.peekPtr(ppStmt));
        if (second !== 0) capi.sqlite3_finalize(second);
        if (rc2 !== 0 || second !== 0) {
          throw new ReadOnlyQueryError('store.query runs exactly one statement; this SQL holds more than one');
        }
      }
      if (capi.sqlite3_stmt_readonly(pStmt) === 0) {
        throw new ReadOnlyQueryError('store.query only reads, and SQLite reports that this statement writes');
      }
      return [...tables];
    } finally {
      authorize = undefined;
      if (pStmt !== 0) capi.sqlite3_finalize(pStmt);
      wasm.pstack.restore(stack);
      wasm.dealloc(pSql);
    }
  }

  function prepareQuery(sql: string): PreparedQuery {
    // A schema change (a projection rebuilt, a view replaced) may change what a text reads.
    const version = Number(getRow('PRAGMA schema_version', undefined)?.schema_version ?? 0);
    if (version !== querySchema) {
      for (const q of queries.values()) q.stmt.finalize();
      queries.clear();
      querySchema = version;
    }
    let q = queries.get(sql);
    if (q !== undefined) {
      // Least recently used goes first out: move this one to the back.
      queries.delete(sql);
      queries.set(sql, q);
      return q;
    }
    const tables = checkReadOnly(sql);
    const stmt = db.prepare(sql);
    q = { stmt, columns: stmt.columnCount > 0 ? stmt.getColumnNames() : [], tables };
    queries.set(sql, q);
    if (queries.size > QUERY_CACHE_SIZE) {
      const [oldest, old] = queries.entries().next().value as [string, PreparedQuery];
      old.stmt.finalize();
      queries.delete(oldest);
    }
    return q;
  }

  /** Runs `fn`, turning what sqlite-wasm throws into a SqlError named by its result code. */
  function sqlite<T>(fn: () => T): T {
    try {
      return fn();
    } catch (e) {
      throw toSqlError(sqlite3, e);
    }
  }

  return {
    exec(sql) {
      sqlite(() => db.exec(sql));
    },
    run(sql, params): RunResult {
      return sqlite(() => {
        const { stmt } = prepare(sql, params);
        try {
          stmt.step();
        } finally {
          stmt.reset(true);
        }
        return {
          changes: db.changes(),
          lastInsertRowid: Number(capi.sqlite3_last_insert_rowid(db)),
        };
      });
    },
    all<T = Row>(sql: string, params?: readonly SqlValue[]): T[] {
      return sqlite(() => {
        const { stmt, columns } = prepare(sql, params);
        return readAll<T>(stmt, columns);
      });
    },
    get<T = Row>(sql: string, params?: readonly SqlValue[]): T | undefined {
      return sqlite(() => getRow(sql, params) as T | undefined);
    },
    query<T = Row>(sql: string, params: readonly SqlValue[] = []): QueryResult<T> {
      if (typeof sql !== 'string') throw new InvalidArgumentError('store.query needs SQL text');
      return sqlite(() => {
        const q = prepareQuery(sql);
        if (q.stmt.parameterCount !== params.length) {
          throw new InvalidArgumentError(`The query has ${q.stmt.parameterCount} parameters, and ${params.length} were given`);
        }
        if (params.length > 0) q.stmt.bind(params as BindingSpec);
        return { rows: readAll<T>(q.stmt, q.columns), tables: q.tables };
      });
    },
    onRowChange(listener) {
      rowListeners.add(listener);
      if (!hooked) {
        hooked = true;
        // The package's typings omit the hook's context argument, which the binding requires.
        const setHook = capi.sqlite3_preupdate_hook as unknown as PreUpdateHookSetter;
        setHook(db, (_ctx, _db, _op, _dbName, table) => {
          const name = table.toLowerCase();
          for (const l of rowListeners) l(name);
        }, 0);
      }
      return () => {
        rowListeners.delete(listener);
      };
    },
    close() {
      for (const { stmt } of cache.values()) stmt.finalize();
      for (const { stmt } of queries.values()) stmt.finalize();
      cache.clear();
      queries.clear();
      sqlite(() => db.close());
    },
  };
}

/** What sqlite-wasm threw, as a SqlError named by its (extended) result code; anything else as it is. */
function toSqlError(sqlite3: Sqlite3Static, e: unknown): unknown {
  if (!(e instanceof sqlite3.SQLite3Error)) {
    // Not SQLite's: a CairnError of ours, or the binding's own (WasmAllocError...), mapped by the engine.
    return e;
  }
  const name = (sqlite3.capi.sqlite3_js_rc_str(e.resultCode) ?? `SQLITE_${e.resultCode}`).replace(/^SQLITE_/, '');
  return new SqlError(name, e.message, { cause: e });
}

type PreUpdateHookSetter = (
  db: Database,
  hook: (ctx: number, db: number, op: number, dbName: string, table: string) => void,
  ctx: number,
) => unknown;

const SQLITE_AUTH = 23;
const SQLITE_DENY = 1;
const SQLITE_PRAGMA = 19;
const SQLITE_READ = 20;
const SQLITE_SELECT = 21;
const SQLITE_FUNCTION = 31;
const SQLITE_RECURSIVE = 33;

/** Pragmas that only report; any other pragma, or one of these given a value, is refused. */
const READ_PRAGMAS = new Set([
  'application_id', 'collation_list', 'compile_options', 'data_version', 'database_list', 'encoding',
  'foreign_key_list', 'freelist_count', 'function_list', 'index_info', 'index_list', 'index_xinfo',
  'module_list', 'page_count', 'page_size', 'pragma_list', 'schema_version', 'table_info', 'table_list',
  'table_xinfo', 'user_version',
]);
/** Of those, the ones whose argument names what to describe rather than a value to set. */
const PRAGMAS_WITH_ARGUMENT = new Set([
  'foreign_key_list', 'index_info', 'index_list', 'index_xinfo', 'table_info', 'table_list', 'table_xinfo',
]);

/** Authorizer action codes, named in the errors of refused queries. */
const ACTION_NAMES: Record<number, string> = {
  1: 'CREATE INDEX', 2: 'CREATE TABLE', 3: 'CREATE TEMP INDEX', 4: 'CREATE TEMP TABLE', 5: 'CREATE TEMP TRIGGER',
  6: 'CREATE TEMP VIEW', 7: 'CREATE TRIGGER', 8: 'CREATE VIEW', 9: 'DELETE FROM', 10: 'DROP INDEX', 11: 'DROP TABLE',
  12: 'DROP TEMP INDEX', 13: 'DROP TEMP TABLE', 14: 'DROP TEMP TRIGGER', 15: 'DROP TEMP VIEW', 16: 'DROP TRIGGER',
  17: 'DROP VIEW', 18: 'INSERT INTO', 19: 'PRAGMA', 22: 'transaction control', 23: 'UPDATE', 24: 'ATTACH',
  25: 'DETACH', 26: 'ALTER TABLE', 27: 'REINDEX', 28: 'ANALYZE', 29: 'CREATE VIRTUAL TABLE', 30: 'DROP VIRTUAL TABLE',
  32: 'SAVEPOINT',
};

/** The authorizer passes absent strings as a null pointer (0). */
function str(v: string | 0): string {
  return typeof v === 'string' ? v : '';
}

function readAll<T>(stmt: PreparedStatement, columns: string[]): T[] {
  const rows: T[] = [];
  try {
    while (stmt.step()) rows.push(readRow(stmt, columns) as T);
  } finally {
    stmt.reset(true);
  }
  return rows;
}

function readRow(stmt: PreparedStatement, columns: string[]): Row {
  const row: Row = {};
  for (let i = 0; i < columns.length; i++) row[columns[i]!] = stmt.get(i) as SqlValue;
  return row;
}
