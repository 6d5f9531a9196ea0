/**
 * What a store whose database lives in memory needs of SQLite to keep it elsewhere
 * (IndexedDB mode): the changes of each write as a changeset (SQLite's session extension),
 * replaying and undoing changesets, and whole images of the database (serialize and
 * deserialize).
 *
 * - One session per write, not per transaction: a session is created when a write starts
 *   and its changeset taken when it ends, so a write rolled back to its savepoint leaves
 *   nothing behind (its session is dropped), and the session's table filter, called the
 *   first time each table changes, names exactly the tables that write touched.
 * - Sessions are configured with `SQLITE_SESSION_OBJCONFIG_ROWID`, so tables without a
 *   primary key (a projection may create some) are recorded by rowid too.
 * - The session extension owns SQLite's one pre-update hook: creating a session replaces
 *   any other hook, and deleting the last one removes it. So a database recorded here must
 *   not also use the driver's `onRowChange` (the engine does not when given a recorder).
 * - Changesets do not carry schema changes (CREATE, DROP): `schemaVersion` lets the caller
 *   see that a transaction changed the schema, and keep a whole image instead.
 */
import type { Database, Sqlite3Static } from '@sqlite.org/sqlite-wasm';
import { InternalError, StorageUnavailableError } from './errors.ts';

/** `SQLITE_SESSION_OBJCONFIG_ROWID`, which this build's JavaScript does not name. */
const SESSION_OBJCONFIG_ROWID = 2;

/** The first 16 bytes of every SQLite database file. */
const MAGIC = 'SQLite format 3\u0000';

/** Per-write changesets of one connection. */
export class SessionChanges {
  readonly #sqlite3: Sqlite3Static;
  readonly #db: Database;
  /** The changesets of the writes kept in the open transaction, in order. */
  #kept: Uint8Array[] = [];

  constructor(sqlite3: Sqlite3Static, db: Database) {
    this.#sqlite3 = sqlite3;
    this.#db = db;
  }

  /** Starts recording one write; the function returned ends it, keeping its changeset if `kept`, and returns the tables it touched. */
  begin(): (kept: boolean) => string[] {
    const tables: string[] = [];
    const session = this.#createSession(tables);
    return (kept) => {
      try {
        if (kept) {
          const changes = this.#changeset(session);
          if (changes.length > 0) this.#kept.push(changes);
        }
      } finally {
        this.#sqlite3.capi.sqlite3session_delete(session);
      }
      return tables;
    };
  }

  /** The changesets kept since the last `take` (or `drop`), in order; starts afresh. */
  take(): Uint8Array[] {
    const kept = this.#kept;
    this.#kept = [];
    return kept;
  }

  /** Forgets what was kept (the transaction did not commit). */
  drop(): void {
    this.#kept = [];
  }

  /** Applies changesets in order, in one transaction; any conflict (the database is not the one they were taken on) throws. */
  apply(changesets: readonly Uint8Array[]): void {
    this.#inTransaction(() => {
      for (const c of changesets) this.#apply(c);
    });
  }

  /** Takes changesets back out of the database, last first, in one transaction. */
  revert(changesets: readonly Uint8Array[]): void {
    this.#inTransaction(() => {
      for (let i = changesets.length - 1; i >= 0; i--) this.#apply(this.#invert(changesets[i]!));
    });
  }

  /** The schema's version: it moves whenever a transaction changes the schema. */
  schemaVersion(): number {
    const stmt = this.#db.prepare('PRAGMA schema_version');
    try {
      stmt.step();
      return Number(stmt.get(0));
    } finally {
      stmt.finalize();
    }
  }

  #createSession(tables: string[]): number {
    const { capi, wasm } = this.#sqlite3;
    const stack = wasm.pstack.pointer;
    try {
      const ppSession = wasm.pstack.allocPtr();
      check(capi.sqlite3session_create(this.#db, 'main', ppSession), 'sqlite3session_create');
      const session = Number(wasm.peekPtr(ppSession));
      const on = wasm.pstack.alloc(4);
      wasm.poke32(on, 1);
      (capi.sqlite3session_object_config as unknown as (s: number, op: number, arg: number) => number)(session, SESSION_OBJCONFIG_ROWID, Number(on));
      capi.sqlite3session_table_filter(session, (_ctx, table) => {
        tables.push(table.toLowerCase());
        return 1;
      }, 0);
      check(capi.sqlite3session_attach(session, null), 'sqlite3session_attach');
      return session;
    } finally {
      wasm.pstack.restore(stack);
    }
  }

  #changeset(session: number): Uint8Array {
    const { capi, wasm } = this.#sqlite3;
    const stack = wasm.pstack.pointer;
    try {
      const pSize = wasm.pstack.alloc(4);
      const ppOut = wasm.pstack.allocPtr();
      check(capi.sqlite3session_changeset(session, pSize, ppOut), 'sqlite3session_changeset');
      return takeBuffer(this.#sqlite3, Number(wasm.peekPtr(ppOut)), wasm.peek32(pSize));
    } finally {
      wasm.pstack.restore(stack);
    }
  }

  #invert(changes: Uint8Array): Uint8Array {
    const { capi, wasm } = this.#sqlite3;
    const stack = wasm.pstack.pointer;
    const input = copyIn(this.#sqlite3, changes);
    try {
      const pSize = wasm.pstack.alloc(4);
      const ppOut = wasm.pstack.allocPtr();
      check(capi.sqlite3changeset_invert(changes.length, input, pSize, ppOut), 'sqlite3changeset_invert');
      return takeBuffer(this.#sqlite3, Number(wasm.peekPtr(ppOut)), wasm.peek32(pSize));
    } finally {
      wasm.dealloc(input);
      wasm.pstack.restore(stack);
    }
  }

  #apply(changes: Uint8Array): void {
    const { capi, wasm } = this.#sqlite3;
    const input = copyIn(this.#sqlite3, changes);
    let conflict = 0;
    try {
      const rc = capi.sqlite3changeset_apply(this.#db, changes.length, input, 0, (_ctx, kind) => {
        conflict = kind;
        return capi.SQLITE_CHANGESET_ABORT;
      }, 0);
      if (rc !== 0) {
        throw new StorageUnavailableError(
          `The stored changes do not fit the stored database (SQLite rc ${rc}${conflict ? `, conflict kind ${conflict}` : ''}): the data is damaged`,
        );
      }
    } finally {
      wasm.dealloc(input);
    }
  }

  #inTransaction(fn: () => void): void {
    this.#db.exec('SAVEPOINT cairn_changes');
    try {
      fn();
      this.#db.exec('RELEASE cairn_changes');
    } catch (e) {
      this.#db.exec('ROLLBACK TO cairn_changes; RELEASE cairn_changes');
      throw e;
    }
  }
}

/**
 * A whole image of the database, as a database file any SQLite opens: marked as a rollback
 * journal database even when it was taken from a WAL one (a WAL mark would make a reader
 * look for a WAL file that is not there).
 */
export function exportDatabase(sqlite3: Sqlite3Static, db: Database): Uint8Array {
  const image = sqlite3.capi.sqlite3_js_db_export(db);
  if (image.length >= 20) {
    image[18] = 1;
    image[19] = 1;
  }
  return image;
}

/**
 * A whole image of the database in parts of at most `partSize` bytes, each its own buffer
 * (a view of one big buffer would be cloned whole by IndexedDB), marked as `exportDatabase`
 * marks it. Taken synchronously, so it is one consistent state.
 */
export function exportDatabaseParts(sqlite3: Sqlite3Static, db: Database, partSize: number): Uint8Array[] {
  const { capi, wasm } = sqlite3;
  const stack = wasm.pstack.pointer;
  try {
    const pSize = wasm.pstack.alloc(8);
    // An image loaded with deserialize can be read in place; a plain ':memory:' one is copied first.
    let copied = false;
    let pointer = Number(capi.sqlite3_serialize(db, 'main', pSize, capi.SQLITE_SERIALIZE_NOCOPY));
    if (pointer === 0) {
      pointer = Number(capi.sqlite3_serialize(db, 'main', pSize, 0));
      copied = true;
    }
    if (pointer === 0) throw new InternalError('sqlite3_serialize returned no image');
    const size = Number(wasm.peek64(pSize));
    const parts: Uint8Array[] = [];
    for (let at = 0; at < size; at += partSize) parts.push(wasm.heap8u().slice(pointer + at, pointer + Math.min(size, at + partSize)));
    if (copied) capi.sqlite3_free(pointer);
    const first = parts[0];
    if (first !== undefined && first.length >= 20) {
      first[18] = 1;
      first[19] = 1;
    }
    return parts;
  } finally {
    wasm.pstack.restore(stack);
  }
}

/** True when `bytes` starts as a SQLite database file does. */
export function isDatabaseImage(bytes: Uint8Array): boolean {
  if (bytes.length < 512) return false;
  for (let i = 0; i < MAGIC.length; i++) if (bytes[i] !== MAGIC.charCodeAt(i)) return false;
  return true;
}

/**
 * Replaces the connection's database with an image, given whole or in parts (copied into
 * SQLite's heap one by one); no parts give an empty database. Prepared statements survive
 * (SQLite prepares them again on the new schema).
 */
export function loadDatabase(sqlite3: Sqlite3Static, db: Database, parts: readonly Uint8Array[]): void {
  const { capi, wasm } = sqlite3;
  const size = parts.reduce((n, p) => n + p.length, 0);
  const buffer = Number(wasm.alloc(Math.max(size, 1)));
  let offset = 0;
  for (const part of parts) {
    wasm.heap8u().set(part, buffer + offset);
    offset += part.length;
  }
  const flags = capi.SQLITE_DESERIALIZE_FREEONCLOSE | capi.SQLITE_DESERIALIZE_RESIZEABLE;
  const rc = capi.sqlite3_deserialize(db, 'main', buffer, size, Math.max(size, 1), flags);
  // On failure SQLite has freed the buffer already (FREEONCLOSE).
  if (rc !== 0) throw new StorageUnavailableError(`The stored database image could not be loaded (SQLite rc ${rc})`);
}

function check(rc: number, what: string): void {
  if (rc !== 0) throw new InternalError(`${what} failed with SQLite rc ${rc}`);
}

/** Copies bytes into SQLite's heap; free with `wasm.dealloc`. */
function copyIn(sqlite3: Sqlite3Static, bytes: Uint8Array): number {
  const p = Number(sqlite3.wasm.alloc(Math.max(bytes.length, 1)));
  sqlite3.wasm.heap8u().set(bytes, p);
  return p;
}

/** Copies a buffer SQLite allocated out of its heap, and frees it. */
function takeBuffer(sqlite3: Sqlite3Static, pointer: number, size: number): Uint8Array {
  const out = sqlite3.wasm.heap8u().slice(pointer, pointer + size);
  if (pointer !== 0) sqlite3.capi.sqlite3_free(pointer);
  return out;
}
