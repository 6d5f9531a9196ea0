/**
 * `openStore`: in a browser page, a store served by a dedicated worker on OPFS; where there
 * is no DOM (Node, Deno, edge workers), the same engine in-process.
 */
import type { SqlDriver } from '../core/driver.ts';
import type { Projection } from '../core/projection.ts';
import { InvalidArgumentError, StorageUnavailableError } from '../core/errors.ts';
import { DEFAULT_MAX_EVENT_BYTES } from '../core/limits.ts';
import type { DefaultEventMap, Durability, EventMap, StorageOption } from '../core/types.ts';
import type { OpenConfig, PushMessages, WorkerApi } from '../protocol/api.ts';
import { createRpcClient } from '../protocol/rpc.ts';
import { Store, type Feed } from './store.ts';

/** Options of `openStore`. */
export interface OpenStoreOptions {
  /** The store's name; each name is its own database. */
  name: string;
  /** Where to keep the data. `auto` (the default) takes OPFS where it can, else memory. */
  storage?: StorageOption;
  /** `strict` (the default): an append resolves once its commit is flushed to storage. */
  durability?: Durability;
  /** The largest data plus metadata of one event, in UTF-8 bytes. Default 1 MiB. */
  maxEventBytes?: number;
  /** Starts your own worker (one that calls `serve` from `cairndb/worker`). */
  worker?: () => Worker;
  /** Outside a browser: a synchronous SQLite connection to run on instead of sqlite-wasm in memory. */
  driver?: SqlDriver;
  /**
   * Outside a browser: SQL read models kept inside the append transaction. In a browser,
   * projections are registered in the worker instead: `serve({ projections })`.
   */
  projections?: readonly Projection[];
  /** Outside a browser: how many events one projection rebuild batch applies (default 500). In a browser: `serve({ rebuildBatchSize })`. */
  rebuildBatchSize?: number;
}

/**
 * Opens a store.
 * @example
 * const store = await openStore({ name: 'shop' });
 * console.log(store.storage); // 'opfs' in a browser that has it
 */
export async function openStore<E extends EventMap = DefaultEventMap>(options: OpenStoreOptions): Promise<Store<E>> {
  const name = options?.name;
  if (typeof name !== 'string' || name.length === 0 || name.length > 200) {
    throw new InvalidArgumentError('openStore needs a name: a non-empty string of at most 200 characters');
  }
  const storage = options.storage ?? 'auto';
  if (!['auto', 'opfs', 'indexeddb', 'memory'].includes(storage)) {
    throw new InvalidArgumentError(`Unknown storage ${JSON.stringify(storage)}`);
  }
  const config: OpenConfig = {
    name,
    storage,
    durability: options.durability ?? 'strict',
    maxEventBytes: options.maxEventBytes ?? DEFAULT_MAX_EVENT_BYTES,
  };
  const inPage = typeof document !== 'undefined' && typeof Worker !== 'undefined';
  if (inPage && options.driver === undefined) {
    if (options.projections !== undefined || options.rebuildBatchSize !== undefined) {
      throw new InvalidArgumentError(
        'In a browser, projections run in the worker: pass them to serve({ projections }) in your own worker',
      );
    }
    return openInWorker<E>(config, options.worker);
  }
  // Loaded only where it is used, so a page's bundle carries no second SQLite.
  const { openInProcess } = await import('./in-process.ts');
  return openInProcess<E>(config, options.driver, options.projections, options.rebuildBatchSize);
}

async function openInWorker<E extends EventMap>(config: OpenConfig, factory?: () => Worker): Promise<Store<E>> {
  const worker =
    factory?.() ??
    new Worker(new URL('../../worker/default.ts', import.meta.url), { type: 'module', name: `cairn:${config.name}` });
  const feeds = { commit: pushFeed<'commit'>(), projection: pushFeed<'projection'>() };
  const rpc = createRpcClient<WorkerApi>(worker, (message) => {
    if (Object.hasOwn(feeds, message.push)) feeds[message.push as keyof PushMessages].emit(message.data as never);
  });
  worker.addEventListener('error', (event) => {
    rpc.fail(new StorageUnavailableError(`The Cairn worker failed: ${event.message || 'it could not start'}`));
  });
  // The worker holds OPFS handles; a page that goes away must let them go, or a reloaded
  // page cannot open the store (Firefox keeps a hidden page's worker alive).
  const onPageHide = (): void => {
    rpc.fail(new StorageUnavailableError('The page was hidden and its Cairn worker stopped'));
    worker.terminate();
  };
  addEventListener('pagehide', onPageHide);
  const dispose = (): void => {
    removeEventListener('pagehide', onPageHide);
    rpc.dispose();
    worker.terminate();
  };
  try {
    const info = await rpc.remote.open(config);
    return new Store<E>({
      ...config,
      ...info,
      backend: rpc.remote,
      onCommit: feeds.commit.listen,
      onProjectionProgress: feeds.projection.listen,
      dispose,
    });
  } catch (e) {
    dispose();
    throw e;
  }
}

/** The listeners of one kind of push message. */
function pushFeed<K extends keyof PushMessages>(): { listen: Feed<PushMessages[K]>; emit: (value: PushMessages[K]) => void } {
  const listeners = new Set<(value: PushMessages[K]) => void>();
  return {
    listen(listener) {
      listeners.add(listener);
      return () => listeners.delete(listener);
    },
    emit(value) {
      for (const listener of listeners) listener(value);
    },
  };
}
