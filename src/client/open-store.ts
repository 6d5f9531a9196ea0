/**
 * `openStore`: in a browser page, a store served by a dedicated worker on OPFS; where there
 * is no DOM (Node, Deno, edge workers), the same engine in-process.
 */
import type { SqlDriver } from '../core/driver.ts';
import type { Projection } from '../core/projection.ts';
import { InvalidArgumentError, StorageUnavailableError } from '../core/errors.ts';
import { DEFAULT_MAX_EVENT_BYTES } from '../core/limits.ts';
import type { DefaultEventMap, Durability, EventMap, StorageOption } from '../core/types.ts';
import { createUpcasting, type UnknownEvents, type Upcasters, type Upcasting } from '../core/upcast.ts';
import type { OpenConfig, WorkerApi } from '../protocol/api.ts';
import { createRpcClient } from '../protocol/rpc.ts';
import { workerLockName } from '../protocol/tabs.ts';
import { hostKind, servesFromWorker } from './host.ts';
import { Store, type PushFeed } from './store.ts';

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
  /**
   * In a follower tab, how long a call may wait for a leader (while tabs hand over, or
   * when none can serve) before failing with NO_LEADER, in ms. Default 10 000.
   */
  leaderTimeout?: number;
  /**
   * Outside a browser: SQL read models kept inside the append transaction. In a browser,
   * projections are registered in the worker instead: `serve({ projections })`.
   */
  projections?: readonly Projection[];
  /** Outside a browser: how many events one projection rebuild batch applies (default 500). In a browser: `serve({ rebuildBatchSize })`. */
  rebuildBatchSize?: number;
}

/** How long a call waits for a leader by default, in ms. */
export const DEFAULT_LEADER_TIMEOUT = 10_000;

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
  const leaderTimeout = options.leaderTimeout ?? DEFAULT_LEADER_TIMEOUT;
  if (typeof leaderTimeout !== 'number' || !(leaderTimeout > 0) || !Number.isFinite(leaderTimeout)) {
    throw new InvalidArgumentError('leaderTimeout must be a positive number of milliseconds');
  }
  const config: OpenConfig = {
    name,
    storage,
    durability: options.durability ?? 'strict',
    maxEventBytes: options.maxEventBytes ?? DEFAULT_MAX_EVENT_BYTES,
    leaderTimeout,
  };
  const upcasting = createUpcasting(options.upcasters, options.unknownEvents);
  const host = hostKind();
  if (options.driver === undefined && servesFromWorker(host)) {
    if (options.projections !== undefined || options.rebuildBatchSize !== undefined) {
      throw new InvalidArgumentError(
        'In a browser, projections run in the worker: pass them to serve({ projections }) in your own worker',
      );
    }
    return openInWorker<E>(config, upcasting, options.worker);
  }
  // Loaded only where it is used, so a page's bundle carries no second SQLite.
  const { openInProcess } = await import('./in-process.ts');
  return openInProcess<E>(config, upcasting, host, options.driver, options.projections, options.rebuildBatchSize);
}

async function openInWorker<E extends EventMap>(
  config: OpenConfig,
  upcasting: Upcasting,
  factory?: () => Worker,
): Promise<Store<E>> {
  const worker =
    factory?.() ??
    new Worker(new URL('../../worker/default.js', import.meta.url), { type: 'module', name: `cairn:${config.name}` });
  // Every push, whichever tab's leader sent it, is dispatched by name: a push type added
  // to the worker reaches its listeners here without changes to this function.
  const pushListeners = new Map<string, Set<(data: unknown) => void>>();
  const rpc = createRpcClient<WorkerApi>(worker, (message) => {
    for (const listener of pushListeners.get(message.push) ?? []) listener(message.data);
  });
  const onPush: PushFeed = (name, listener) => {
    let set = pushListeners.get(name);
    if (set === undefined) pushListeners.set(name, (set = new Set()));
    const l = listener as (data: unknown) => void;
    set.add(l);
    return () => void set.delete(l);
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
  const watching = new AbortController();
  const dispose = (): void => {
    removeEventListener('pagehide', onPageHide);
    watching.abort();
    rpc.dispose();
    worker.terminate();
  };
  try {
    const info = await rpc.remote.open(config);
    // A worker can die with no error event (terminated from inside, its process killed):
    // it holds a lock for its whole life, and being granted that lock means it is gone.
    navigator.locks
      ?.request(workerLockName(info.worker), { mode: 'shared', signal: watching.signal }, () => {
        rpc.fail(new StorageUnavailableError("This tab's Cairn worker stopped"));
      })
      .catch(() => {
        // Aborted by dispose.
      });
    return new Store<E>({
      ...config,
      ...info,
      upcasting,
      backend: rpc.remote,
      onCommit: (listener) => {
        // After a handover, commit notices sent while no one led may be lost: the new
        // leader's announcement wakes every reader and watch to catch up from the log.
        const stopCommits = onPush('commit', listener);
        const stopLeaders = onPush('leader', ({ head }) => listener({ head, streams: [], types: [], tables: ['*'], commitMs: 0 }));
        return () => {
          stopCommits();
          stopLeaders();
        };
      },
      onRoleChange: (listener) => onPush('role', listener),
      onProjectionProgress: (listener) => onPush('projection', listener),
      dispose,
    });
  } catch (e) {
    dispose();
    throw e;
  }
}
