/** The in-process store, for runtimes without a DOM: Node, Deno, edge workers. */
import type { SqlDriver } from '../core/driver.ts';
import { createEngine, type Engine, type EngineOptions } from '../core/engine.ts';
import type { Projection } from '../core/projection.ts';
import { StorageUnavailableError } from '../core/errors.ts';
import { openMemoryEngine } from '../core/sqlite-wasm.ts';
import type { EventMap } from '../core/types.ts';
import type { Upcasting } from '../core/upcast.ts';
import type { OpenConfig } from '../protocol/api.ts';
import type { HostKind } from './host.ts';
import { Store } from './store.ts';

/** Opens the engine in this thread, on `driver` or on sqlite-wasm in memory. */
export async function openInProcess<E extends EventMap>(
  config: OpenConfig,
  upcasting: Upcasting,
  host: HostKind,
  driver?: SqlDriver,
  projections?: readonly Projection[],
  rebuildBatchSize?: number,
): Promise<Store<E>> {
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
  return new Store<E>({
    ...config,
    storage: 'memory',
    role: 'leader',
    upcasting,
    backend: engine,
    onCommit: (listener) => engine.onCommit(listener),
    // Alone in its runtime, it leads for as long as it is open.
    onRoleChange: () => () => {},
    onProjectionProgress: (listener) => engine.onProjectionProgress(listener),
    dispose: () => {},
  });
}
