/**
 * The page side of a store served by a worker: starts the worker (the built-in one, or the
 * app's own), connects the RPC, routes the worker's pushes to their listeners, and fails
 * every call once the worker is gone (an error event, `pagehide`, or its lifetime lock
 * granted: it died without a word).
 */
import { StorageUnavailableError } from '../core/errors.ts';
import type { EventMap } from '../core/types.ts';
import type { Upcasting } from '../core/upcast.ts';
import type { OpenConfig, WorkerApi } from '../protocol/api.ts';
import { createRpcClient } from '../protocol/rpc.ts';
import { workerLockName } from '../protocol/tabs.ts';
import type { PushFeed } from './ports.ts';
import { Store } from './store.ts';

/** Opens the store in a dedicated worker of this page (or of this worker). */
export async function openInWorker<E extends EventMap>(
  config: OpenConfig,
  upcasting: Upcasting,
  factory?: () => Worker,
  syncToken?: () => string | undefined | Promise<string | undefined>,
): Promise<Store<E>> {
  const worker =
    factory?.() ??
    new Worker(new URL('../../worker/default.js', import.meta.url), { type: 'module', name: `cairn:${config.name}` });
  // Every push, whichever tab's leader sent it, is dispatched by name: a push type added
  // to the worker reaches its listeners here without changes to this function.
  const pushListeners = new Map<string, Set<(data: unknown) => void>>();
  const rpc = createRpcClient<WorkerApi>(worker, {
    onPush: (message) => {
      for (const listener of pushListeners.get(message.push) ?? []) listener(message.data);
    },
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
      syncStatus: await rpc.remote.syncStatus(),
      onSyncStatus: (listener) => onPush('sync', listener),
      onSyncConflicts: (listener) => onPush('syncConflicts', listener),
      onSyncTokenNeeded: (listener) => onPush('syncToken', listener),
      ...(syncToken === undefined ? {} : { syncToken }),
      dispose,
    });
  } catch (e) {
    dispose();
    throw e;
  }
}
