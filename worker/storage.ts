/**
 * Opens a store's database in the worker: OPFS through the `opfs-sahpool` VFS, or memory.
 * On OPFS the database runs in WAL mode with exclusive locking; the PRAGMAs and why are in
 * `src/core/pragmas.ts`.
 */
import type { Database, SAHPoolUtil, Sqlite3Static } from '@sqlite.org/sqlite-wasm';
import { StorageUnavailableError } from '../src/core/errors.ts';
import { storagePragmas } from '../src/core/pragmas.ts';
import type { Durability, StorageKind, StorageOption } from '../src/core/types.ts';

/** An open database and how to release it. */
export interface OpenedDatabase {
  db: Database;
  storage: StorageKind;
  /** Releases the OPFS handles after the database is closed. */
  release: () => void;
}

/** The file name of the database inside the store's pool. */
const DB_FILE = '/cairn.sqlite3';

/** Opens `name` on the storage asked for. */
export async function openDatabase(
  sqlite3: Sqlite3Static,
  name: string,
  storage: StorageOption,
  durability: Durability,
): Promise<OpenedDatabase> {
  if (storage === 'indexeddb') {
    throw new StorageUnavailableError(
      "Storage 'indexeddb' is not supported yet; use 'opfs', 'memory' or 'auto'",
    );
  }
  if (storage === 'opfs' || storage === 'auto') {
    const reason = opfsMissing();
    if (reason === undefined) {
      const pool = await installPool(sqlite3, name);
      const db = new pool.OpfsSAHPoolDb(DB_FILE);
      try {
        db.exec(storagePragmas(durability));
      } catch (e) {
        db.close();
        pool.pauseVfs();
        throw new StorageUnavailableError(`Could not set up the store "${name}" on OPFS: ${String(e)}`, { cause: e });
      }
      return { db, storage: 'opfs', release: () => pool.pauseVfs() };
    }
    if (storage === 'opfs') {
      throw new StorageUnavailableError(`OPFS is not available here (${reason}), and storage 'opfs' was required`);
    }
  }
  const db = new sqlite3.oo1.DB(':memory:', 'c');
  return { db, storage: 'memory', release: () => {} };
}

/** Why OPFS sync access cannot be used in this worker, or undefined when it can. */
function opfsMissing(): string | undefined {
  if (typeof navigator === 'undefined' || typeof navigator.storage?.getDirectory !== 'function') {
    return 'navigator.storage.getDirectory is missing, as in some private windows';
  }
  const handle = (globalThis as { FileSystemFileHandle?: { prototype: object } }).FileSystemFileHandle;
  if (handle === undefined || !('createSyncAccessHandle' in handle.prototype)) {
    return 'FileSystemFileHandle.createSyncAccessHandle is missing';
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
  throw new StorageUnavailableError(`Could not open the store "${name}" on OPFS: ${String(lastError)}`, {
    cause: lastError,
  });
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
