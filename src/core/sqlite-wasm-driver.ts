/**
 * Adapts an `@sqlite.org/sqlite-wasm` oo1 `Database` to the core's `SqlDriver`.
 * Statements are prepared once per SQL text and reused; that is most of the cost of a
 * small write, so the cache is not optional.
 *
 * It also gives the driver's optional capabilities:
 * - `query`: SQLite's authorizer (one per connection, installed here once) denies every
 *   action but reading while a user statement is prepared, and records the tables it reads;
 *   `sqlite3_stmt_readonly` is checked too, the tail after the first statement must prepare
 *   to nothing, and the statement runs under `PRAGMA query_only`, so that not even a
 *   table-valued pragma can write. A time budget is enforced by SQLite's progress handler,
 *   which interrupts a query past its deadline (`QUERY_TIMEOUT`): in Node the engine runs on
 *   the event loop, so no JavaScript timer could.
 * - `fenced`: statements prepared (in a cache of their own) under a projection's fence.
 * - `onRowChange`: SQLite's pre-update hook reports the table of every row change. It is
 *   used rather than the update hook because it also fires for WITHOUT ROWID tables, and
 *   it turns off the truncate optimisation (`DELETE FROM t`), which would bypass a hook.
 *
 * The authorizer only runs while a statement is prepared (or re-prepared after a schema
 * change), so cached statements pay nothing for it.
 */
import type { BindingSpec, Database, PreparedStatement, Sqlite3Static } from '@sqlite.org/sqlite-wasm';
import { AUTH_OK, fencePolicy, readOnlyPolicy, type Fence, type Policy } from './authorizer.ts';
import {
  SqlError,
  isSqlError,
  type FencedDriver,
  type QueryOptions,
  type QueryResult,
  type Row,
  type RunResult,
  type SqlDriver,
  type SqlValue,
} from './driver.ts';
import { InternalError, InvalidArgumentError, QueryTimeoutError, ReadOnlyQueryError } from './errors.ts';
import { DEFAULT_QUERY_TIMEOUT } from './limits.ts';
import { exportDatabase } from './sqlite-wasm-changes.ts';

/** Wraps an open oo1 database. The driver is a plain object of functions, so it can be wrapped with a spread. */
export function createSqliteWasmDriver(sqlite3: Sqlite3Static, db: Database): SqlDriver {
  const d = new SqliteWasmDriver(sqlite3, db);
  return {
    exec: (sql) => d.exec(sql),
    run: (sql, params) => d.run(sql, params),
    all: <T = Row>(sql: string, params?: readonly SqlValue[]) => d.all<T>(sql, params),
    get: <T = Row>(sql: string, params?: readonly SqlValue[]) => d.get<T>(sql, params),
    query: <T = Row>(sql: string, params?: readonly SqlValue[], options?: QueryOptions) => d.query<T>(sql, params, options),
    fenced: (fence) => d.fenced(fence),
    changes: {
      record: (fn, include) => d.record(fn, include),
      undo: (changesets) => d.undo(changesets),
    },
    inTransaction: () => d.inTransaction(),
    onRowChange: (listener) => d.onRowChange(listener),
    serialize: () => exportDatabase(sqlite3, db),
    close: () => d.close(),
  };
}

interface Prepared {
  stmt: PreparedStatement;
  columns: string[];
}

interface PreparedQuery extends Prepared {
  tables: string[];
}

/** How many distinct read-only query texts keep a prepared statement. */
const QUERY_CACHE_SIZE = 64;
/** How many SQLite VM steps run between two looks at a query's deadline. */
const PROGRESS_STEPS = 1000;

class SqliteWasmDriver implements SqlDriver {
  readonly #sqlite3: Sqlite3Static;
  readonly #db: Database;
  readonly #cache = new Map<string, Prepared>();
  readonly #queries = new Map<string, PreparedQuery>();
  readonly #fencedCache = new Map<string, Prepared>();
  readonly #rowListeners = new Set<(table: string) => void>();
  #querySchema = -1;
  #hooked = false;
  /** The policy of the statement being prepared; undefined allows everything (Cairn's own SQL). */
  #policy: Policy | undefined;
  /** While a query runs: when it must be interrupted (ms since the epoch). */
  #deadline = 0;
  /** The tables the change capture running now records. */
  #include: (table: string) => boolean = () => false;
  /** The session's table filter, installed in the WASM function table once. */
  #sessionFilter: number | undefined;

  constructor(sqlite3: Sqlite3Static, db: Database) {
    this.#sqlite3 = sqlite3;
    this.#db = db;
    const { capi } = sqlite3;
    // Without the query planner stability guarantee, this build of SQLite re-prepares a
    // statement whose WHERE has a bound parameter every time a new value is bound (its plan
    // may depend on the value), so the cache saved nothing for them: measured here, 9,999
    // re-prepares in 10,000 runs of `SELECT max(version) ... WHERE stream = ?`, 45 us each
    // against 11 us with QPSG. Cairn names its indexes, so its plans never depend on values.
    const qpsg = capi.sqlite3_db_config(db, capi.SQLITE_DBCONFIG_ENABLE_QPSG, 1, 0);
    if (qpsg !== 0) throw new InternalError(`Could not enable SQLITE_DBCONFIG_ENABLE_QPSG (rc ${qpsg})`);
    // The one authorizer of this connection. Installing it expires prepared statements, so it is done once.
    capi.sqlite3_set_authorizer(db, (_ctx, action, a1, a2) => this.#policy?.(action, str(a1), str(a2)) ?? AUTH_OK, 0);
    // Likewise the one progress handler: it interrupts only a query past its deadline.
    capi.sqlite3_progress_handler(db, PROGRESS_STEPS, () => (this.#deadline !== 0 && Date.now() > this.#deadline ? 1 : 0), 0);
  }

  exec(sql: string): void {
    this.#sqlite(() => this.#db.exec(sql));
  }

  run(sql: string, params?: readonly SqlValue[]): RunResult {
    return this.#sqlite(() => this.#runIn(this.#cache, sql, params));
  }

  all<T = Row>(sql: string, params?: readonly SqlValue[]): T[] {
    return this.#sqlite(() => {
      const { stmt, columns } = this.#prepare(this.#cache, sql, params);
      return readAll<T>(stmt, columns);
    });
  }

  get<T = Row>(sql: string, params?: readonly SqlValue[]): T | undefined {
    return this.#sqlite(() => this.#getIn(this.#cache, sql, params) as T | undefined);
  }

  query<T = Row>(sql: string, params: readonly SqlValue[] = [], options: QueryOptions = {}): QueryResult<T> {
    if (typeof sql !== 'string') throw new InvalidArgumentError('store.query needs SQL text');
    const timeoutMs = options.timeoutMs ?? DEFAULT_QUERY_TIMEOUT;
    return this.#sqlite(() => {
      const q = this.#prepareQuery(sql);
      if (q.stmt.parameterCount !== params.length) {
        throw new InvalidArgumentError(`The query has ${q.stmt.parameterCount} parameters, and ${params.length} were given`);
      }
      if (params.length > 0) q.stmt.bind(params as BindingSpec);
      this.#runIn(this.#cache, 'PRAGMA query_only = 1', undefined);
      this.#deadline = Date.now() + timeoutMs;
      try {
        return { rows: readAll<T>(q.stmt, q.columns), tables: q.tables };
      } catch (thrown) {
        const e = toSqlError(this.#sqlite3, thrown);
        if (isSqlError(e, 'INTERRUPT')) throw new QueryTimeoutError(timeoutMs);
        if (isSqlError(e, 'READONLY')) throw new ReadOnlyQueryError('store.query only reads, and this statement tried to write');
        throw e;
      } finally {
        this.#deadline = 0;
        this.#runIn(this.#cache, 'PRAGMA query_only = 0', undefined);
      }
    });
  }

  fenced(fence: Fence): FencedDriver {
    const policy = fencePolicy(fence);
    const within = <T>(fn: () => T): T => {
      const outer = this.#policy;
      this.#policy = policy;
      try {
        return this.#sqlite(fn);
      } catch (e) {
        if (isSqlError(e, 'AUTH')) {
          throw new InvalidArgumentError(`Not allowed in a projection: ${fence.refused ?? 'this statement'}`, { cause: e });
        }
        throw e;
      } finally {
        this.#policy = outer;
      }
    };
    return {
      exec: (sql) => within(() => this.#db.exec(sql)),
      run: (sql, params) => within(() => this.#runIn(this.#fencedCache, sql, params)),
      all: <T = Row>(sql: string, params?: readonly SqlValue[]) =>
        within(() => {
          const { stmt, columns } = this.#prepare(this.#fencedCache, sql, params);
          return readAll<T>(stmt, columns);
        }),
      get: <T = Row>(sql: string, params?: readonly SqlValue[]) =>
        within(() => this.#getIn(this.#fencedCache, sql, params) as T | undefined),
    };
  }

  inTransaction(): boolean {
    return this.#sqlite3.capi.sqlite3_get_autocommit(this.#db) === 0;
  }

  /**
   * A session takes the connection's one pre-update hook for itself while it records, and
   * removes it when deleted: meanwhile the tables written are told from the update hook
   * (rowid tables) and the changeset (every table with a primary key, WITHOUT ROWID ones
   * included), and the row hook is put back afterwards.
   */
  record<T>(fn: () => T, include: (table: string) => boolean): { result: T; changeset: Uint8Array } {
    const { capi } = this.#sqlite3;
    const written = new Set<string>();
    const tracking = this.#hooked;
    try {
      const recorded = this.#recordSession(() => {
        if (tracking) capi.sqlite3_update_hook(this.#db, (_ctx, _op, _dbName, table) => void written.add(table), 0);
        return fn();
      }, include);
      if (tracking) for (const table of changesetTables(this.#sqlite3, recorded.changeset)) written.add(table);
      return recorded;
    } finally {
      if (tracking) {
        capi.sqlite3_update_hook(this.#db, 0 as never, 0);
        this.#installRowHook();
        for (const table of written) this.#changed(table);
      }
    }
  }

  #recordSession<T>(fn: () => T, include: (table: string) => boolean): { result: T; changeset: Uint8Array } {
    const { capi, wasm } = this.#sqlite3;
    this.#include = include;
    this.#sessionFilter ??= wasm.installFunction('ipp', (_ctx: number, table: number) => (this.#include(wasm.cstrToJs(table) ?? '') ? 1 : 0));
    const stack = wasm.pstack.pointer;
    let session = 0;
    try {
      const ppSession = wasm.pstack.allocPtr();
      check(this.#sqlite3, capi.sqlite3session_create(this.#db, 'main', ppSession), 'sqlite3session_create');
      session = Number(wasm.peekPtr(ppSession));
      capi.sqlite3session_table_filter(session, this.#sessionFilter, 0);
      check(this.#sqlite3, capi.sqlite3session_attach(session, 0), 'sqlite3session_attach');
      const result = fn();
      const pSize = wasm.pstack.alloc(4);
      const ppChangeset = wasm.pstack.allocPtr();
      check(this.#sqlite3, capi.sqlite3session_changeset(session, pSize, ppChangeset), 'sqlite3session_changeset');
      const size = wasm.peek32(pSize);
      const pChangeset = Number(wasm.peekPtr(ppChangeset));
      const changeset = wasm.heap8u().slice(pChangeset, pChangeset + size);
      capi.sqlite3_free(pChangeset);
      return { result, changeset };
    } finally {
      if (session !== 0) capi.sqlite3session_delete(session);
      wasm.pstack.restore(stack);
    }
  }

  undo(changesets: readonly Uint8Array[]): boolean {
    for (let i = changesets.length - 1; i >= 0; i--) {
      if (!this.#undoOne(changesets[i]!)) return false;
    }
    return true;
  }

  /** Inverts one changeset and applies it; false at the first row that is not as recorded. */
  #undoOne(changeset: Uint8Array): boolean {
    if (changeset.length === 0) return true;
    const { capi, wasm } = this.#sqlite3;
    const stack = wasm.pstack.pointer;
    const pIn = wasm.alloc(changeset.length);
    try {
      wasm.heap8u().set(changeset, Number(pIn));
      const pSize = wasm.pstack.alloc(4);
      const ppOut = wasm.pstack.allocPtr();
      check(this.#sqlite3, capi.sqlite3changeset_invert(changeset.length, pIn, pSize, ppOut), 'sqlite3changeset_invert');
      const pOut = wasm.peekPtr(ppOut);
      let conflicted = false;
      const rc = capi.sqlite3changeset_apply(this.#db, wasm.peek32(pSize), pOut, 0, () => {
        conflicted = true;
        return capi.SQLITE_CHANGESET_ABORT;
      }, 0);
      capi.sqlite3_free(pOut);
      return rc === 0 && !conflicted;
    } finally {
      wasm.dealloc(pIn);
      wasm.pstack.restore(stack);
    }
  }

  onRowChange(listener: (table: string) => void): () => void {
    this.#rowListeners.add(listener);
    if (!this.#hooked) {
      this.#hooked = true;
      this.#installRowHook();
    }
    return () => void this.#rowListeners.delete(listener);
  }

  /** SQLite's pre-update hook, reporting the table of every row change to the listeners. */
  #installRowHook(): void {
    // The package's typings omit the hook's context argument, which the binding requires.
    const setHook = this.#sqlite3.capi.sqlite3_preupdate_hook as unknown as PreUpdateHookSetter;
    setHook(this.#db, (_ctx, _db, _op, _dbName, table) => this.#changed(table), 0);
  }

  #changed(table: string): void {
    const name = table.toLowerCase();
    for (const l of this.#rowListeners) l(name);
  }

  close(): void {
    for (const cache of [this.#cache, this.#queries, this.#fencedCache]) {
      for (const { stmt } of cache.values()) stmt.finalize();
      cache.clear();
    }
    this.#sqlite(() => this.#db.close());
  }

  /** Runs `fn`, turning what sqlite-wasm throws into a SqlError named by its result code. */
  #sqlite<T>(fn: () => T): T {
    try {
      return fn();
    } catch (e) {
      throw toSqlError(this.#sqlite3, e);
    }
  }

  #prepare(cache: Map<string, Prepared>, sql: string, params: readonly SqlValue[] | undefined): Prepared {
    let p = cache.get(sql);
    if (p === undefined) {
      const stmt = this.#db.prepare(sql);
      p = { stmt, columns: stmt.columnCount > 0 ? stmt.getColumnNames() : [] };
      cache.set(sql, p);
    }
    if (params !== undefined && params.length > 0) p.stmt.bind(params as BindingSpec);
    return p;
  }

  #runIn(cache: Map<string, Prepared>, sql: string, params: readonly SqlValue[] | undefined): RunResult {
    const { stmt } = this.#prepare(cache, sql, params);
    try {
      stmt.step();
    } finally {
      stmt.reset(true);
    }
    return { changes: this.#db.changes(), lastInsertRowid: Number(this.#sqlite3.capi.sqlite3_last_insert_rowid(this.#db)) };
  }

  #getIn(cache: Map<string, Prepared>, sql: string, params: readonly SqlValue[] | undefined): Row | undefined {
    const { stmt, columns } = this.#prepare(cache, sql, params);
    try {
      return stmt.step() ? readRow(stmt, columns) : undefined;
    } finally {
      stmt.reset(true);
    }
  }

  #prepareQuery(sql: string): PreparedQuery {
    // A schema change (a projection rebuilt, a view replaced) may change what a text reads.
    const version = Number(this.#getIn(this.#cache, 'PRAGMA schema_version', undefined)?.schema_version ?? 0);
    if (version !== this.#querySchema) {
      for (const q of this.#queries.values()) q.stmt.finalize();
      this.#queries.clear();
      this.#querySchema = version;
    }
    let q = this.#queries.get(sql);
    if (q !== undefined) {
      // Least recently used goes first out: move this one to the back.
      this.#queries.delete(sql);
      this.#queries.set(sql, q);
      return q;
    }
    const tables = this.#checkReadOnly(sql);
    const stmt = this.#db.prepare(sql);
    q = { stmt, columns: stmt.columnCount > 0 ? stmt.getColumnNames() : [], tables };
    this.#queries.set(sql, q);
    if (this.#queries.size > QUERY_CACHE_SIZE) {
      const [oldest, old] = this.#queries.entries().next().value as [string, PreparedQuery];
      old.stmt.finalize();
      this.#queries.delete(oldest);
    }
    return q;
  }

  /** Proves `sql` is one read-only statement, returning the tables it reads. */
  #checkReadOnly(sql: string): string[] {
    const { capi, wasm } = this.#sqlite3;
    const tables = new Set<string>();
    const refused: { what?: string } = {};
    this.#policy = readOnlyPolicy(tables, refused);
    const [pSql, length] = wasm.allocCString(sql, true);
    const stack = wasm.pstack.pointer;
    let pStmt = 0;
    try {
      const ppStmt = wasm.pstack.alloc(8);
      const ppTail = wasm.pstack.alloc(8);
      const rc = capi.sqlite3_prepare_v3(this.#db, pSql, length, 0, ppStmt, ppTail);
      pStmt = Number(wasm.peekPtr(ppStmt));
      if (rc === capi.SQLITE_AUTH) {
        throw new ReadOnlyQueryError(`store.query only reads, and SQLite refused this statement (${refused.what ?? 'a write'})`);
      }
      if (rc !== 0) {
        const message = capi.sqlite3_errmsg(this.#db);
        throw new InvalidArgumentError(`SQL error: ${message}`, { cause: new SqlError(rcName(this.#sqlite3, rc), message) });
      }
      if (pStmt === 0) throw new InvalidArgumentError('store.query needs one SQL statement, got none');
      // What follows the first statement must prepare to nothing (blanks, comments, ';').
      const tail = Number(wasm.peekPtr(ppTail));
      const rest = length - (tail - pSql);
      if (rest > 0) {
        const rc2 = capi.sqlite3_prepare_v3(this.#db, tail, rest, 0, ppStmt, ppTail);
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
      this.#policy = undefined;
      if (pStmt !== 0) capi.sqlite3_finalize(pStmt);
      wasm.pstack.restore(stack);
      wasm.dealloc(pSql);
    }
  }
}

/** The tables a changeset touches. */
function changesetTables(sqlite3: Sqlite3Static, changeset: Uint8Array): Set<string> {
  const tables = new Set<string>();
  if (changeset.length === 0) return tables;
  const { capi, wasm } = sqlite3;
  const stack = wasm.pstack.pointer;
  const pIn = wasm.alloc(changeset.length);
  try {
    wasm.heap8u().set(changeset, Number(pIn));
    const ppIter = wasm.pstack.allocPtr();
    check(sqlite3, capi.sqlite3changeset_start(ppIter, changeset.length, pIn), 'sqlite3changeset_start');
    const pIter = wasm.peekPtr(ppIter);
    const pzTab = wasm.pstack.allocPtr();
    const pnCol = wasm.pstack.alloc(4);
    const pOp = wasm.pstack.alloc(4);
    const pIndirect = wasm.pstack.alloc(4);
    while (capi.sqlite3changeset_next(pIter) === capi.SQLITE_ROW) {
      capi.sqlite3changeset_op(pIter, pzTab, pnCol, pOp, pIndirect);
      tables.add(wasm.cstrToJs(wasm.peekPtr(pzTab)) ?? '');
    }
    capi.sqlite3changeset_finalize(pIter);
    return tables;
  } finally {
    wasm.dealloc(pIn);
    wasm.pstack.restore(stack);
  }
}

/** Throws the SqlError of a failed C call. */
function check(sqlite3: Sqlite3Static, rc: number, what: string): void {
  if (rc !== 0) throw new SqlError(rcName(sqlite3, rc), `${what} failed: ${rcName(sqlite3, rc)}`);
}

/** What sqlite-wasm threw, as a SqlError named by its (extended) result code; anything else as it is. */
function toSqlError(sqlite3: Sqlite3Static, e: unknown): unknown {
  // Not SQLite's: a CairnError of ours, or the binding's own (WasmAllocError...), mapped by the engine.
  if (!(e instanceof sqlite3.SQLite3Error)) return e;
  return new SqlError(rcName(sqlite3, e.resultCode), e.message, { cause: e });
}

function rcName(sqlite3: Sqlite3Static, rc: number): string {
  return (sqlite3.capi.sqlite3_js_rc_str(rc) ?? `SQLITE_${rc}`).replace(/^SQLITE_/, '');
}

type PreUpdateHookSetter = (
  db: Database,
  hook: (ctx: number, db: number, op: number, dbName: string, table: string) => void,
  ctx: number,
) => unknown;

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
