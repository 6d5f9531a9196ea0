/**
 * `storage: 'indexeddb'`: SQLite runs in memory, with the whole feature set, and IndexedDB
 * (through `idb`) holds the durable state. Used by the leader's worker, and in-process
 * where no dedicated worker can be had (shared and service workers).
 *
 * What IndexedDB holds, in one database per store (`cairn:<name>`):
 * - `changes`: one record per committed transaction, keyed by its sequence number, holding
 *   the changesets of its writes (`sqlite-wasm-changes.ts`). One IndexedDB transaction per
 *   record, so a group of appends is there whole or not at all.
 * - `images` and `parts`: whole images of the database (a header, and the file in parts),
 *   each covering every transaction up to its sequence number, written in one IndexedDB
 *   transaction so that a half-written image is never seen.
 * Opening loads the latest image and applies the changes after it, in order.
 *
 * Responsibilities and the interleavings they handle:
 * - `commit` runs right after SQLite's COMMIT, while the commit queue holds every other
 *   request back: the changes are written before the appends are acknowledged. If the write
 *   fails (a full origin, a closed database) the changes are taken back out of the memory
 *   database with their inverse, and the failure is reported typed.
 * - A transaction that changed the schema (migrations, a projection's setup) has no
 *   changeset that carries it: a whole image is written instead, and if that fails the
 *   database is loaded again from what IndexedDB holds.
 * - Compaction: once the changes after the latest image outgrow a 32nd of it, a new
 *   image is taken (synchronously, between two commits, so it is one consistent state) and
 *   written in the background; it touches only `images` and `parts`, so commits do not wait
 *   for it. Only once it is written are the older images and the changes it covers deleted.
 *   Opening with a long tail starts one at once, so the next open does not replay it again.
 * - One context at a time: a Web Lock named after the store is held while it is open, so a
 *   tab's worker and a service worker never write the same data side by side.
 */
import type { Database, Sqlite3Static } from '@sqlite.org/sqlite-wasm';
import { openDB, type DBSchema, type IDBPDatabase } from 'idb';
import { createEngine, type Engine, type EngineOptions } from '../core/engine.ts';
import { CairnError, QuotaExceededError, StorageUnavailableError, messageOf } from '../core/errors.ts';
import { checkRestoreTarget, type RestoreRequest } from '../core/restore.ts';
import { SessionChanges, exportDatabaseParts, loadDatabase } from '../core/sqlite-wasm-changes.ts';
import { createSqliteWasmDriver } from '../core/sqlite-wasm-driver.ts';
import { sleep } from '../core/time.ts';
import type { Durability } from '../core/types.ts';
import type { WriteRecorder } from '../core/write-recorder.ts';

interface ImageHeader {
  /** The last transaction the image holds. */
  seq: number;
  size: number;
  parts: number;
  at: number;
}

interface StoreSchema extends DBSchema {
  changes: { key: number; value: Uint8Array[] };
  images: { key: number; value: ImageHeader };
  parts: { key: [number, number]; value: Uint8Array };
}

type Idb = IDBPDatabase<StoreSchema>;

/** Each part of an image is at most this many bytes. */
const PART_BYTES = 4 * 1024 * 1024;
/** A new image once the changes after the last one reach this many bytes, or `TAIL_SHARE` of the image. */
const MIN_TAIL_BYTES = 1024 * 1024;
/**
 * How large the tail may grow against the image. Replaying a changeset costs about what the
 * original insert did (measured in Chromium: ~33 us per event, 1 s for 30,000 events), some
 * 20 times more per byte than loading an image (100 MB read and loaded in ~0.5 s), so at a
 * 32nd of the image the replay stays below the image's own load time.
 */
const TAIL_SHARE = 1 / 32;
/** ...or this many transactions, whatever their size (each costs a little to apply at open). */
const MAX_TAIL_RECORDS = 2000;
/** After an image could not be written (a full origin), how long before trying again, in ms. */
const IMAGE_RETRY_MS = 30_000;
/** How long to wait for another context to let go of the store. */
const LOCK_WAIT_MS = 5000;

/** What `openIndexedDbStore` gives the leader. */
export interface IndexedDbStore extends WriteRecorder {
  /** After the engine opened (and migrated): writes an image if the schema changed, or if there is none. */
  settle(): Promise<void>;
  /** Replaces everything IndexedDB holds with the database as it is now in memory (a restore). */
  rewrite(): Promise<void>;
  /** Waits for an image being written, closes IndexedDB and lets go of the store's lock. */
  close(): Promise<void>;
  /** What opening found and replayed, for the bench. */
  readonly opened: { imageBytes: number; replayed: number };
}

/** True where this runtime has IndexedDB. */
export function hasIndexedDb(): boolean {
  return typeof indexedDB === 'object' && indexedDB !== null;
}

/** The IndexedDB database name of a store. */
export function indexedDbName(store: string): string {
  return `cairn:${store}`;
}

/** Opens the store's IndexedDB data and loads it into `db`, an empty in-memory database. */
export async function openIndexedDbStore(
  sqlite3: Sqlite3Static,
  db: Database,
  name: string,
  durability: Durability,
): Promise<IndexedDbStore> {
  const release = await holdLock(name);
  let idb: Idb | undefined;
  try {
    idb = await openDB<StoreSchema>(indexedDbName(name), 1, {
      upgrade(database) {
        database.createObjectStore('changes');
        database.createObjectStore('images');
        database.createObjectStore('parts');
      },
    });
    const store = new IdbStore(sqlite3, db, idb, durability, release);
    await store.load();
    return store;
  } catch (e) {
    idb?.close();
    release();
    throw asStorageError(e, `Could not open the store "${name}" on IndexedDB`);
  }
}

class IdbStore implements IndexedDbStore {
  readonly #sqlite3: Sqlite3Static;
  readonly #db: Database;
  readonly #idb: Idb;
  readonly #durability: IDBTransactionDurability;
  readonly #release: () => void;
  readonly #changes: SessionChanges;
  /** The last transaction written (or loaded). */
  #seq = 0;
  #schema = -1;
  #imageBytes = 0;
  #hasImage = false;
  #tailBytes = 0;
  #tailRecords = 0;
  #compacting: Promise<void> | undefined;
  /** No image is tried before this time (ms since the epoch): the last one failed. */
  #imageAfter = 0;
  opened = { imageBytes: 0, replayed: 0 };

  constructor(sqlite3: Sqlite3Static, db: Database, idb: Idb, durability: Durability, release: () => void) {
    this.#sqlite3 = sqlite3;
    this.#db = db;
    this.#idb = idb;
    this.#durability = durability === 'strict' ? 'strict' : 'relaxed';
    this.#release = release;
    this.#changes = new SessionChanges(sqlite3, db);
  }

  record(): (kept: boolean) => readonly string[] {
    return this.#changes.begin();
  }

  discard(): void {
    this.#changes.drop();
  }

  commit(): Promise<void> | undefined {
    const changesets = this.#changes.take();
    if (this.#changes.schemaVersion() !== this.#schema) return this.#writeImageNow();
    if (changesets.length === 0) return undefined;
    const seq = this.#seq + 1;
    const bytes = changesets.reduce((n, c) => n + c.length, 0);
    return this.#put(seq, changesets).then(
      () => {
        this.#seq = seq;
        this.#tailBytes += bytes;
        this.#tailRecords++;
        this.#maybeCompact();
      },
      (e: unknown) => {
        // Nothing ran since COMMIT (the queue holds every request back): the inverse applies cleanly.
        this.#changes.revert(changesets);
        throw asStorageError(e, 'Could not write the commit to IndexedDB');
      },
    );
  }

  async settle(): Promise<void> {
    if (!this.#hasImage || this.#changes.schemaVersion() !== this.#schema) await this.#writeImageNow();
    // A long tail replayed now would be replayed again at every open: fold it into an image.
    else this.#maybeCompact();
  }

  rewrite(): Promise<void> {
    return this.#writeImageNow();
  }

  async close(): Promise<void> {
    await this.#compacting;
    this.#idb.close();
    this.#release();
  }

  /** Loads the latest image and the changes after it into the memory database. */
  async load(): Promise<void> {
    const tx = this.#idb.transaction(['images', 'parts', 'changes'], 'readonly');
    const header = (await tx.objectStore('images').openCursor(null, 'prev'))?.value;
    let parts: Uint8Array[] = [];
    if (header !== undefined) {
      const range = IDBKeyRange.bound([header.seq, 0], [header.seq, header.parts]);
      parts = await tx.objectStore('parts').getAll(range);
      if (parts.length !== header.parts) throw new StorageUnavailableError('The stored database image is incomplete');
    }
    const from = header?.seq ?? 0;
    const tailRange = IDBKeyRange.lowerBound(from, true);
    const [tail, tailKeys] = await Promise.all([
      tx.objectStore('changes').getAll(tailRange),
      tx.objectStore('changes').getAllKeys(tailRange),
    ]);
    await tx.done;
    // Always: a reload after a failed image starts from what IndexedDB holds, not from memory.
    loadDatabase(this.#sqlite3, this.#db, parts);
    this.#changes.apply(tail.flat());
    this.#seq = tailKeys.at(-1) ?? from;
    this.#schema = this.#changes.schemaVersion();
    this.#hasImage = header !== undefined;
    this.#imageBytes = header?.size ?? 0;
    this.#tailRecords = tail.length;
    this.#tailBytes = tail.reduce((n, cs) => n + cs.reduce((m, c) => m + c.length, 0), 0);
    this.opened = { imageBytes: this.#imageBytes, replayed: tail.length };
  }

  async #put(seq: number, changesets: Uint8Array[]): Promise<void> {
    const tx = this.#idb.transaction('changes', 'readwrite', { durability: this.#durability });
    await Promise.all([tx.store.put(changesets, seq), tx.done]);
  }

  /** An image now, as the durable form of a transaction no changeset can carry; on failure the database is loaded again. */
  async #writeImageNow(): Promise<void> {
    const seq = this.#seq + 1;
    const parts = exportDatabaseParts(this.#sqlite3, this.#db, PART_BYTES);
    const schema = this.#changes.schemaVersion();
    try {
      await this.#compacting;
      await this.#writeImage(seq, parts);
    } catch (e) {
      await this.load();
      throw asStorageError(e, 'Could not write the database image to IndexedDB');
    }
    this.#seq = seq;
    this.#schema = schema;
    this.#tailBytes = 0;
    this.#tailRecords = 0;
    await this.#prune(seq);
  }

  #maybeCompact(): void {
    if (this.#compacting !== undefined || Date.now() < this.#imageAfter) return;
    if (this.#tailRecords < MAX_TAIL_RECORDS && this.#tailBytes < Math.max(MIN_TAIL_BYTES, this.#imageBytes * TAIL_SHARE)) return;
    // Taken now, between two commits: the state after transaction `seq`, exactly.
    const seq = this.#seq;
    const parts = exportDatabaseParts(this.#sqlite3, this.#db, PART_BYTES);
    const covered = { bytes: this.#tailBytes, records: this.#tailRecords };
    this.#tailBytes = 0;
    this.#tailRecords = 0;
    this.#compacting = this.#writeImage(seq, parts)
      .then(() => this.#prune(seq))
      .catch((e: unknown) => {
        // The changes are all still there: only the next open is slower. Try again later.
        this.#tailBytes += covered.bytes;
        this.#tailRecords += covered.records;
        this.#imageAfter = Date.now() + IMAGE_RETRY_MS;
        console.warn(`Cairn: could not write a database image to IndexedDB (${messageOf(e)}); will try again`);
      })
      .finally(() => (this.#compacting = undefined));
  }

  async #writeImage(seq: number, parts: Uint8Array[]): Promise<void> {
    const size = parts.reduce((n, p) => n + p.length, 0);
    const tx = this.#idb.transaction(['images', 'parts'], 'readwrite', { durability: this.#durability });
    const puts: Promise<unknown>[] = parts.map((part, i) => tx.objectStore('parts').put(part, [seq, i]));
    puts.push(tx.objectStore('images').put({ seq, size, parts: parts.length, at: Date.now() }, seq));
    await Promise.all([...puts, tx.done]);
    this.#imageBytes = size;
    this.#hasImage = true;
  }

  /** Deletes what the image of `seq` covers: older images and the changes up to it. */
  async #prune(seq: number): Promise<void> {
    const tx = this.#idb.transaction(['images', 'parts', 'changes'], 'readwrite');
    await Promise.all([
      tx.objectStore('images').delete(IDBKeyRange.upperBound(seq, true)),
      tx.objectStore('parts').delete(IDBKeyRange.upperBound([seq, -1], true)),
      tx.objectStore('changes').delete(IDBKeyRange.upperBound(seq)),
      tx.done,
    ]);
  }
}

/** What an IndexedDB failure means to a caller. */
function asStorageError(e: unknown, what: string): CairnError {
  if (e instanceof CairnError) return e;
  const name = (e as { name?: unknown })?.name;
  if (name === 'QuotaExceededError') return new QuotaExceededError(`${what}: the origin's storage is full (${messageOf(e)})`, { cause: e });
  return new StorageUnavailableError(`${what}: ${messageOf(e)}`, { cause: e });
}

/** Takes the store's IndexedDB lock (another context may be letting go of it); returns its release. */
async function holdLock(name: string): Promise<() => void> {
  const locks = typeof navigator === 'object' ? navigator.locks : undefined;
  if (locks === undefined) return () => {};
  const deadline = Date.now() + LOCK_WAIT_MS;
  for (let attempt = 0; ; attempt++) {
    let release!: () => void;
    const held = new Promise<boolean>((granted) => {
      void locks.request(`cairn-idb:${name}`, { ifAvailable: true }, (lock) => {
        granted(lock !== null);
        return lock === null ? undefined : new Promise<void>((r) => (release = r));
      });
    });
    if (await held) return release;
    if (Date.now() > deadline) {
      throw new StorageUnavailableError(`The store "${name}" is open on IndexedDB in another context (a tab or a service worker)`);
    }
    await sleep(Math.min(50 * 2 ** attempt, 500));
  }
}

/** An engine on an IndexedDB store, and how to close both. */
export interface IndexedDbEngine {
  engine: Engine;
  /** The in-memory connection (backup, restore). */
  db: Database;
  store: IndexedDbStore;
  /** Closes the engine (committing what is queued), then the store. */
  close(): Promise<void>;
}

/** Opens the store `name` on IndexedDB: SQLite in memory, loaded from IndexedDB, and the engine on it. */
export async function openIndexedDbEngine(
  sqlite3: Sqlite3Static,
  name: string,
  durability: Durability,
  options: Omit<EngineOptions, 'recorder'> = {},
  restore?: RestoreRequest,
): Promise<IndexedDbEngine> {
  const db = new sqlite3.oo1.DB(':memory:', 'c');
  let store: IndexedDbStore;
  try {
    store = await openIndexedDbStore(sqlite3, db, name, durability);
  } catch (e) {
    db.close();
    throw e;
  }
  if (restore !== undefined) {
    try {
      checkRestoreTarget(db, name, restore.overwrite);
      loadDatabase(sqlite3, db, [restore.bytes]);
      await store.rewrite();
    } catch (e) {
      db.close();
      await store.close();
      throw e;
    }
  }
  let engine: Engine;
  try {
    // Without the driver's row hook: the recorder's sessions own SQLite's pre-update hook.
    const { onRowChange: _hook, ...driver } = createSqliteWasmDriver(sqlite3, db);
    engine = createEngine(driver, { ...options, recorder: store });
    await store.settle();
  } catch (e) {
    db.close();
    await store.close();
    throw e;
  }
  return {
    engine,
    db,
    store,
    async close() {
      await engine.close();
      await store.close();
    },
  };
}
