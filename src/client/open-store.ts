/**
 * `openStore`: in a browser page, a store served by a dedicated worker on OPFS; where there
 * is no DOM (Node, Deno, edge workers), the same engine in-process.
 */
import type { SqlDriver } from '../core/driver.ts';
import { InvalidArgumentError, StorageUnavailableError } from '../core/errors.ts';
import { DEFAULT_MAX_EVENT_BYTES } from '../core/limits.ts';
import type { DefaultEventMap, Durability, EventMap, StorageOption } from '../core/types.ts';
import { createUpcasting, type UnknownEvents, type Upcasters, type Upcasting } from '../core/upcast.ts';
import type { OpenConfig, PushMessages, WorkerApi } from '../protocol/api.ts';
import { createRpcClient } from '../protocol/rpc.ts';
import { Store, type CommitFeed } from './store.ts';

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
  /** Steps that bring old event shapes up to date as they are read: `{ [type]: { [fromVersion]: (data) => data } }`. */
  upcasters?: Upcasters;
  /** An event no upcaster can bring up to date is an error (the default) or is skipped. */
  unknownEvents?: UnknownEvents;
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
  const upcasting = createUpcasting(options.upcasters, options.unknownEvents);
  const inPage = typeof document !== 'undefined' && typeof Worker !== 'undefined';
  if (inPage && options.driver === undefined) return openInWorker<E>(config, upcasting, options.worker);
  // Loaded only where it is used, so a page's bundle carries no second SQLite.
  const { openInProcess } = await import('./in-process.ts');
  return openInProcess<E>(config, upcasting, options.driver);
}

async function openInWorker<E extends EventMap>(
  config: OpenConfig,
  upcasting: Upcasting,
  factory?: () => Worker,
): Promise<Store<E>> {
  const worker =
    factory?.() ??
    new Worker(new URL('../../worker/default.ts', import.meta.url), { type: 'module', name: `cairn:${config.name}` });
  const commitListeners = new Set<(notice: PushMessages['commit']) => void>();
  const rpc = createRpcClient<WorkerApi>(worker, (message) => {
    if (message.push === 'commit') {
      for (const listener of commitListeners) listener(message.data as PushMessages['commit']);
    }
  });
  const onCommit: CommitFeed = (listener) => {
    commitListeners.add(listener);
    return () => commitListeners.delete(listener);
  };
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
    return new Store<E>({ ...config, ...info, upcasting, backend: rpc.remote, onCommit, dispose });
  } catch (e) {
    dispose();
    throw e;
  }
}
