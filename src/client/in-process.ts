/** The in-process store, for runtimes without a DOM: Node, Deno, edge workers. */
import type { SqlDriver } from '../core/driver.ts';
import { createEngine, type Engine, type EngineOptions } from '../core/engine.ts';
import type { Projection } from '../core/projection.ts';
import { StorageUnavailableError } from '../core/errors.ts';
import { openMemoryEngine } from '../core/sqlite-wasm.ts';
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
  if (config.storage === 'opfs' || config.storage === 'indexeddb') {
    throw new StorageUnavailableError(
      host === 'server'
        ? `Storage '${config.storage}' needs a browser; here Cairn runs in-process on memory or on the driver you pass`
        : `Storage '${config.storage}' is not available in a ${host.replace('-', ' ')}: OPFS sync access handles exist only in dedicated workers, and no dedicated worker can be started here. Open the store from a page or a dedicated worker, or use storage 'auto' or 'memory'`,
    );
  }
  const engineOptions: EngineOptions = {
    maxEventBytes: config.maxEventBytes,
    queryTimeout: config.queryTimeout,
    upcast: upcasting.upcast,
  };
  if (projections !== undefined) engineOptions.projections = projections;
  if (rebuildBatchSize !== undefined) engineOptions.rebuildBatchSize = rebuildBatchSize;
  const engine: Engine = driver ? createEngine(driver, engineOptions) : await openMemoryEngine(engineOptions);
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
    storage: 'memory',
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
    dispose: () => {},
  });
}

/** The engine's operations as a backend: bound, so that they can be spread. */
function bindEngine(engine: Engine): Omit<Backend, 'syncStatus' | 'syncNow' | 'syncToken' | 'close'> {
  const bound: Record<string, unknown> = {};
  for (const op of ENGINE_OPS) bound[op] = (engine[op] as (...args: unknown[]) => unknown).bind(engine);
  return bound as Omit<Backend, 'syncStatus' | 'syncNow' | 'syncToken' | 'close'>;
}
