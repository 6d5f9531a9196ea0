/**
 * The in-process store, where no dedicated worker serves it: Node, Deno, edge workers, and
 * a browser's shared and service workers. There it runs on the driver given, on SQLite in
 * memory, or, where IndexedDB exists and no OPFS sync access can be had (shared and service
 * workers), on IndexedDB (`src/storage/indexeddb.ts`): `'auto'` takes it there.
 */
import type { SqlDriver } from '../core/driver.ts';
import { createEngine, type Engine, type EngineOptions } from '../core/engine.ts';
import type { Projection } from '../core/projection.ts';
import { StorageUnavailableError } from '../core/errors.ts';
import { loadSqlite } from '../core/sqlite-wasm.ts';
import { checkBackup } from '../core/restore.ts';
import { loadDatabase } from '../core/sqlite-wasm-changes.ts';
import { createSqliteWasmDriver } from '../core/sqlite-wasm-driver.ts';
import { InvalidArgumentError } from '../core/errors.ts';
import { hasIndexedDb, openIndexedDbEngine } from '../storage/indexeddb.ts';
import type { EventMap } from '../core/types.ts';
import type { Upcasting } from '../core/upcast.ts';
import { ENGINE_OPS, type OpenConfig } from '../protocol/api.ts';
import type { HostKind } from './host.ts';
import type { SyncOptions } from './open-options.ts';
import { startSync } from '../sync/service.ts';
import type { SyncStatus } from '../protocol/api.ts';
import { createFeed, type Backend } from './ports.ts';
import { Store } from './store.ts';

/** Opens the engine in this thread, on `driver` or on sqlite-wasm in memory. */
export async function openInProcess<E extends EventMap>(
  config: OpenConfig,
  upcasting: Upcasting,
  host: HostKind,
  driver?: SqlDriver,
  projections?: readonly Projection[],
  rebuildBatchSize?: number,
  syncOptions?: SyncOptions,
): Promise<Store<E>> {
  const syncToken = syncOptions?.token;
  const indexedDb = driver === undefined && hasIndexedDb() && (config.storage === 'indexeddb' || (config.storage === 'auto' && host !== 'server'));
  if (config.storage === 'opfs' || (config.storage === 'indexeddb' && !indexedDb)) {
    throw new StorageUnavailableError(
      host === 'server'
        ? `Storage '${config.storage}' needs a browser; here Cairn runs in-process on memory or on the driver you pass`
        : `Storage '${config.storage}' is not available in a ${host.replace('-', ' ')}: OPFS sync access handles exist only in dedicated workers, and no dedicated worker can be started here. Open the store from a page or a dedicated worker, or use storage 'auto', 'indexeddb' or 'memory'`,
    );
  }
  const engineOptions: EngineOptions = {
    maxEventBytes: config.maxEventBytes,
    queryTimeout: config.queryTimeout,
    upcast: upcasting.upcast,
  };
  if (projections !== undefined) engineOptions.projections = projections;
  if (rebuildBatchSize !== undefined) engineOptions.rebuildBatchSize = rebuildBatchSize;
  let engine: Engine;
  let release = (): void => {};
  if (driver !== undefined && !indexedDb) {
    if (config.restore !== undefined) throw new InvalidArgumentError('restore opens a store on its own database; it cannot be combined with a driver');
    engine = createEngine(driver, engineOptions);
  } else {
    // SQLite is loaded only where Cairn makes the database itself.
    const sqlite3 = await loadSqlite();
    if (config.restore !== undefined) checkBackup(sqlite3, config.restore);
    const restore = config.restore === undefined ? undefined : { bytes: config.restore, overwrite: config.overwrite === true };
    if (indexedDb) {
      const opened = await openIndexedDbEngine(sqlite3, config.name, config.durability, engineOptions, restore);
      engine = opened.engine;
      release = () => void opened.store.close();
    } else {
      const db = new sqlite3.oo1.DB(':memory:', 'c');
      if (restore !== undefined) loadDatabase(sqlite3, db, [restore.bytes]);
      engine = createEngine(createSqliteWasmDriver(sqlite3, db), engineOptions);
    }
  }
  const status = createFeed<SyncStatus>();
  const conflicts = createFeed<number[]>();
  const tokenNeeded = createFeed<null>();
  const sync = await startSync(engine, config.sync, {
    status: status.emit,
    conflicts: conflicts.emit,
    tokenNeeded: () => tokenNeeded.emit(null),
  }, syncOptions?.fetch);
  const backend: Backend = {
    ...bindEngine(engine),
    ...sync.api,
    close: async () => {
      await sync.stop();
      await engine.close();
    },
  };
  return new Store<E>({
    ...config,
    storage: indexedDb ? 'indexeddb' : 'memory',
    role: 'leader',
    upcasting,
    backend,
    syncStatus: await sync.api.syncStatus(),
    onSyncStatus: status.feed,
    onSyncConflicts: conflicts.feed,
    onSyncTokenNeeded: tokenNeeded.feed,
    ...(syncToken === undefined ? {} : { syncToken }),
    onCommit: (listener) => engine.onCommit(listener),
    // Alone in its runtime, it leads for as long as it is open.
    onRoleChange: () => () => {},
    onProjectionProgress: (listener) => engine.onProjectionProgress(listener),
    dispose: release,
  });
}

/** The engine's operations as a backend: bound, so that they can be spread. */
function bindEngine(engine: Engine): Omit<Backend, 'syncStatus' | 'syncNow' | 'syncToken' | 'close'> {
  const bound: Record<string, unknown> = {};
  for (const op of ENGINE_OPS) bound[op] = (engine[op] as (...args: unknown[]) => unknown).bind(engine);
  return bound as Omit<Backend, 'syncStatus' | 'syncNow' | 'syncToken' | 'close'>;
}
