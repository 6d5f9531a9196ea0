/**
 * The page side of a store served by a worker: a worker session (`worker-session.ts`: the
 * built-in worker or the app's own, restarted when it dies or when the page comes back from
 * the back/forward cache or from being frozen), and the worker's pushes routed to their
 * listeners.
 */
import type { EventMap } from '../core/types.ts';
import type { Upcasting } from '../core/upcast.ts';
import type { OpenConfig } from '../protocol/api.ts';
import type { PushFeed } from './ports.ts';
import { Store } from './store.ts';
import { WorkerSession } from './worker-session.ts';

/** Opens the store in a dedicated worker of this page (or of this worker). */
export async function openInWorker<E extends EventMap>(
  config: OpenConfig,
  upcasting: Upcasting,
  factory?: () => Worker,
  syncToken?: () => string | undefined | Promise<string | undefined>,
): Promise<Store<E>> {
  // Every push, whichever tab's leader sent it, is dispatched by name: a push type added
  // to the worker reaches its listeners here without changes to this function.
  const pushListeners = new Map<string, Set<(data: unknown) => void>>();
  const session = new WorkerSession({
    config,
    start: factory ?? (() => new Worker(new URL('../../worker/default.js', import.meta.url), { type: 'module', name: `cairn:${config.name}` })),
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
  try {
    const info = await session.open();
    const { restore: _restore, overwrite: _overwrite, ...plain } = config;
    return new Store<E>({
      ...plain,
      ...info,
      upcasting,
      backend: session.rpc.remote,
      onCommit: (listener) => {
        // After a handover, commit notices sent while no one led may be lost: the new
        // leader's announcement wakes every reader and watch to catch up from the log.
        const stopCommits = onPush('commit', listener);
        const stopLeaders = onPush('leader', ({ head }) => listener({ head, streams: [], types: [], tables: ['*'], commitMs: 0, transactions: 0 }));
        return () => {
          stopCommits();
          stopLeaders();
        };
      },
      onRoleChange: (listener) => onPush('role', listener),
      onProjectionProgress: (listener) => onPush('projection', listener),
      syncStatus: await session.rpc.remote.syncStatus(),
      onSyncStatus: (listener) => onPush('sync', listener),
      onSyncConflicts: (listener) => onPush('syncConflicts', listener),
      onSyncTokenNeeded: (listener) => onPush('syncToken', listener),
      ...(syncToken === undefined ? {} : { syncToken }),
      dispose: () => session.dispose(),
    });
  } catch (e) {
    session.dispose();
    throw e;
  }
}
