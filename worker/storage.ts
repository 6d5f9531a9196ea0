/**
 * Opens a store's database and engine in the leader's worker, on the storage asked for:
 * - OPFS, through the `opfs-sahpool` VFS, in WAL mode with exclusive locking (the PRAGMAs
 *   and why are in `src/core/pragmas.ts`);
 * - IndexedDB: SQLite in memory, every commit written to IndexedDB before it is
 *   acknowledged (`src/storage/indexeddb.ts`);
 * - memory.
 *
 * `'auto'` takes them in that order. OPFS counts as missing where its API is absent (Safari
 * private windows, older browsers) or where `getDirectory()` itself refuses (Firefox private
 * windows throw SecurityError); anything that fails once OPFS was reached (a pool held by
 * another tab, a full origin) is reported, never papered over by another storage, which
 * would hold other data. Likewise IndexedDB falls back to memory only where IndexedDB
 * itself refuses to open.
 */
import type { Database, SAHPoolUtil, Sqlite3Static } from '@sqlite.org/sqlite-wasm';
import { createEngine, type Engine, type EngineOptions } from '../src/core/engine.ts';
import { QuotaExceededError, StorageUnavailableError } from '../src/core/errors.ts';
import { storagePragmas } from '../src/core/pragmas.ts';
import { checkBackup, checkRestoreTarget, type RestoreRequest } from '../src/core/restore.ts';
import { loadDatabase } from '../src/core/sqlite-wasm-changes.ts';
import { createSqliteWasmDriver } from '../src/core/sqlite-wasm-driver.ts';
import type { Durability, StorageKind, StorageOption } from '../src/core/types.ts';
import { hasIndexedDb, openIndexedDbEngine } from '../src/storage/indexeddb.ts';
import { quotaAware } from './opfs-quota.ts';

/** An open store's engine and how to let go of its storage. */
export interface OpenedStorage {
  engine: Engine;
  storage: StorageKind;
  /** The raw connection (backup, restore). */
  db: Database;
  /** Closes the engine (committing what is queued), then releases the storage. */
  close(): Promise<void>;
}

/** What the worker opens with. */
export interface StorageRequest {
  name: string;
  storage: StorageOption;
  durability: Durability;
  /** A backup to open the store from, checked first (`src/core/restore.ts`). */
  restore?: Uint8Array;
  /** With `restore`: it may replace a store that holds events. */
  overwrite?: boolean;
}

/** The file name of the database inside the store's pool. */
const DB_FILE = '/cairn.sqlite3';

/** IndexedDB errors that mean IndexedDB cannot be used here at all (old private modes, disabled storage). */
const IDB_REFUSALS = new Set(['SecurityError', 'InvalidStateError', 'NotAllowedError', 'UnknownError']);

/** Opens the store on the storage asked for (see the module header for `'auto'`). */
export async function openStorage(sqlite3: Sqlite3Static, request: StorageRequest, options: EngineOptions): Promise<OpenedStorage> {
  const { name, storage } = request;
  const restore = restoreOf(sqlite3, request);
  if (storage === 'opfs' || storage === 'auto') {
    const reason = await opfsMissing();
    if (reason === undefined) return openOpfs(sqlite3, request, options, restore);
    if (storage === 'opfs') {
      throw new StorageUnavailableError(`OPFS is not available here (${reason}), and storage 'opfs' was required`);
    }
  }
  if (storage === 'indexeddb' || storage === 'auto') {
    if (hasIndexedDb()) {
      try {
        const opened = await openIndexedDbEngine(sqlite3, name, request.durability, options, restore);
        return { engine: opened.engine, storage: 'indexeddb', db: opened.db, close: () => opened.close() };
      } catch (e) {
        const refusal = (e as { cause?: { name?: unknown } }).cause?.name;
        if (storage === 'indexeddb' || typeof refusal !== 'string' || !IDB_REFUSALS.has(refusal)) throw e;
      }
    } else if (storage === 'indexeddb') {
      throw new StorageUnavailableError("IndexedDB is not available here, and storage 'indexeddb' was required");
    }
  }
  const db = new sqlite3.oo1.DB(':memory:', 'c');
  if (restore !== undefined) loadDatabase(sqlite3, db, [restore.bytes]);
  const engine = engineOn(sqlite3, db, options, () => {});
  return { engine, storage: 'memory', db, close: () => engine.close() };
}

/** A raw connection to a store's database on OPFS, with Cairn's PRAGMAs (also the bench's raw reference). */
export interface OpenedDatabase {
  db: Database;
  /** Releases the OPFS handles after the database is closed. */
  release: () => void;
}

/** Opens the store's database file on OPFS, with the PRAGMAs of `durability` (from a backup if one is given). */
export async function openOpfsDatabase(
  sqlite3: Sqlite3Static,
  name: string,
  durability: Durability,
  restore?: RestoreRequest,
): Promise<OpenedDatabase> {
  const pool = await installPool(sqlite3, name);
  if (restore !== undefined) {
    const current = new pool.OpfsSAHPoolDb(DB_FILE);
    try {
      // A store in WAL mode opens only with exclusive locking here (the VFS has no shared memory).
      current.exec('PRAGMA locking_mode = EXCLUSIVE');
      checkRestoreTarget(current, name, restore.overwrite);
    } finally {
      current.close();
    }
    // A WAL left from the old database would be replayed onto the restored one.
    pool.unlink(`${DB_FILE}-wal`);
    await pool.importDb(DB_FILE, restore.bytes);
  }
  const db = new pool.OpfsSAHPoolDb(DB_FILE);
  try {
    db.exec(storagePragmas(durability));
  } catch (e) {
    db.close();
    pool.pauseVfs();
    throw new StorageUnavailableError(`Could not set up the store "${name}" on OPFS: ${String(e)}`, { cause: e });
  }
  return { db, release: () => void pool.pauseVfs() };
}

async function openOpfs(sqlite3: Sqlite3Static, request: StorageRequest, options: EngineOptions, restore: RestoreRequest | undefined): Promise<OpenedStorage> {
  const { db, release } = await openOpfsDatabase(sqlite3, request.name, request.durability, restore);
  const engine = engineOn(sqlite3, db, options, release);
  return {
    engine,
    storage: 'opfs',
    db,
    async close() {
      await engine.close();
      release();
    },
  };
}

/** The engine on `db`; a failed migration releases the storage, or the next leader could never open. */
function engineOn(sqlite3: Sqlite3Static, db: Database, options: EngineOptions, release: () => void): Engine {
  try {
    return createEngine(quotaAware(createSqliteWasmDriver(sqlite3, db)), options);
  } catch (e) {
    db.close();
    release();
    throw e;
  }
}

/** The checked backup to restore, if one was given. */
function restoreOf(sqlite3: Sqlite3Static, request: StorageRequest): RestoreRequest | undefined {
  if (request.restore === undefined) return undefined;
  checkBackup(sqlite3, request.restore);
  return { bytes: request.restore, overwrite: request.overwrite === true };
}

/** Why OPFS sync access cannot be used in this worker, or undefined when it can. */
async function opfsMissing(): Promise<string | undefined> {
  if (typeof navigator === 'undefined' || typeof navigator.storage?.getDirectory !== 'function') {
    return 'navigator.storage.getDirectory is missing, as in some private windows';
  }
  const handle = (globalThis as { FileSystemFileHandle?: { prototype: object } }).FileSystemFileHandle;
  if (handle === undefined || !('createSyncAccessHandle' in handle.prototype)) {
    return 'FileSystemFileHandle.createSyncAccessHandle is missing';
  }
  try {
    await navigator.storage.getDirectory();
  } catch (e) {
    // Firefox private windows: SecurityError.
    return `navigator.storage.getDirectory() refused: ${(e as Error)?.name ?? ''} ${String(e)}`.trim();
  }
  return undefined;
}

/**
 * Installs the store's own sahpool VFS. Another worker may still hold the pool's handles
 * for a moment (a page being reloaded, a leader handing over), so a refusal is retried
 * with backoff before it is reported.
 */
async function installPool(sqlite3: Sqlite3Static, name: string): Promise<SAHPoolUtil> {
  const options = {
    name: `cairn-${hash(name)}`,
    directory: `/cairn/${encodeURIComponent(name)}`,
    // The default deletes the whole pool when initialisation fails: never that.
    preserveOnInitFailure: true,
    initialCapacity: 6,
  };
  let lastError: unknown;
  const deadline = Date.now() + 5000;
  for (let attempt = 0; ; attempt++) {
    try {
      return await sqlite3.installOpfsSAHPoolVfs(
        attempt === 0 ? options : { ...options, forceReinitIfPreviouslyFailed: true } as typeof options,
      );
    } catch (e) {
      lastError = e;
      const busy = /NoModificationAllowed|InvalidState|locked|Access Handle/i.test(`${(e as Error)?.name} ${String(e)}`);
      if (!busy || Date.now() > deadline) break;
      await new Promise((r) => setTimeout(r, Math.min(50 * 2 ** attempt, 500)));
    }
  }
  const message = `Could not open the store "${name}" on OPFS: ${String(lastError)}`;
  // OPFS reserves space in chunks: a nearly full origin cannot even install the pool.
  if ((lastError as { name?: unknown })?.name === 'QuotaExceededError') throw new QuotaExceededError(message, { cause: lastError });
  throw new StorageUnavailableError(message, { cause: lastError });
}

/** A short stable hash, to make a VFS name from any store name. */
function hash(s: string): string {
  let h = 0x811c9dc5;
  for (let i = 0; i < s.length; i++) {
    h ^= s.charCodeAt(i);
    h = Math.imul(h, 0x01000193);
  }
  return (h >>> 0).toString(16).padStart(8, '0');
}
