/**
 * `openStore`: in a browser page (or a worker that can start one), a store served by a
 * dedicated worker on OPFS; where there is none (Node, Deno, edge runtimes, service
 * workers), the same engine in-process. `host.ts` says which.
 */
import type { DefaultEventMap, EventMap } from '../core/types.ts';
import { createUpcasting } from '../core/upcast.ts';
import { InvalidArgumentError } from '../core/errors.ts';
import { hostKind, servesFromWorker } from './host.ts';
import { openInWorker } from './in-worker.ts';
import { openConfig, type OpenStoreOptions } from './open-options.ts';
import { requestPersistence } from './device-storage.ts';
import type { OpenConfig } from '../protocol/api.ts';
import type { Store } from './store.ts';

export { DEFAULT_LEADER_TIMEOUT, type OpenStoreOptions } from './open-options.ts';

/**
 * Opens a store.
 * @example
 * const store = await openStore({ name: 'shop' });
 * console.log(store.storage); // 'opfs' in a browser that has it
 */
export async function openStore<E extends EventMap = DefaultEventMap>(options: OpenStoreOptions): Promise<Store<E>> {
  const config = openConfig(options);
  // Asked while the store opens; the answer is what store.estimate() reports as persisted.
  const persisting = options.persist === true ? requestPersistence() : undefined;
  const store = await openHere<E>(config, options);
  await persisting;
  return store;
}

async function openHere<E extends EventMap>(config: OpenConfig, options: OpenStoreOptions): Promise<Store<E>> {
  const upcasting = createUpcasting(options.upcasters, options.unknownEvents);
  const host = hostKind();
  if (options.driver === undefined && servesFromWorker(host)) {
    if (options.projections !== undefined || options.rebuildBatchSize !== undefined) {
      throw new InvalidArgumentError(
        'In a browser, projections run in the worker: pass them to serve({ projections }) in your own worker',
      );
    }
    return openInWorker<E>(config, upcasting, options.worker, options.sync?.token);
  }
  // Loaded only where it is used, so a page's bundle carries no second SQLite.
  const { openInProcess } = await import('./in-process.ts');
  return openInProcess<E>(config, upcasting, host, options.driver, options.projections, options.rebuildBatchSize, options.sync);
}

