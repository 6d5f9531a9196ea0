/**
 * cairndb/worker: the worker runtime. `serve()` turns the current dedicated worker into a
 * Cairn store server; the default worker is nothing but `serve()`.
 *
 * Every tab runs its own worker. The workers of one store elect a leader (`tabs.ts`): the
 * leader opens the database (`leader.ts`, loaded only then), the others forward to it. The
 * page sees the same API either way; what differs between the roles lives in `tabs.ts`.
 * @example
 * // shop.worker.ts
 * import { serve } from 'cairndb/worker';
 * serve({ projections: [cartTotals] });
 */
import { StoreClosedError } from '../src/core/errors.ts';
import { ENGINE_OPS, type OpenConfig, type OpenInfo, type WorkerApi } from '../src/protocol/api.ts';
import type { Projection } from '../src/core/projection.ts';
import type { UnknownEvents, Upcasters } from '../src/core/upcast.ts';
import { push, serveRpc, type Endpoint } from '../src/protocol/rpc.ts';
import { joinTabs, type Tabs } from './tabs.ts';

export type { Projection, ProjectionDb, ProjectionProgress, ProjectionSetupDb } from '../src/core/projection.ts';
export type { RecordedEvent } from '../src/core/types.ts';
export type { UnknownEvents, Upcasters } from '../src/core/upcast.ts';

/** Options of `serve`. */
export interface ServeOptions {
  /** Where to listen; the worker's own global scope by default. */
  endpoint?: Endpoint;
  /** SQL read models kept inside the append transaction, rebuilt from the log when new or changed. */
  projections?: readonly Projection[];
  /** How many events one projection rebuild batch applies. Default 500. */
  rebuildBatchSize?: number;
  /** Upcasters for the events projections see (give the pages the same ones in `openStore`). */
  upcasters?: Upcasters;
  /** An event no upcaster can bring up to date fails the projection (the default) or is skipped. */
  unknownEvents?: UnknownEvents;
}

/** Serves a Cairn store from this worker. */
export function serve(options: ServeOptions = {}): void {
  const page = options.endpoint ?? (globalThis as unknown as Endpoint);
  let tabs: Tabs | undefined;
  let opening: Promise<OpenInfo> | undefined;
  let closed = false;

  /** Sends a push to every tab's page: this one directly, the others through their workers. */
  function publish(name: string, data: unknown): void {
    push(page, name, data);
    tabs?.publish(name, data);
  }

  function need(): Tabs {
    if (closed) throw new StoreClosedError();
    if (tabs === undefined) throw new StoreClosedError('The store is not open yet: call open first');
    return tabs;
  }

  function open(config: OpenConfig): Promise<OpenInfo> {
    const joined = joinTabs({
      name: config.name,
      leaderTimeout: config.leaderTimeout,
      // A dynamic import: a follower never fetches SQLite.
      openLeader: async () => (await import('./leader.ts')).openLeader(config, publish, options),
      onRoleChange: (role) => push(page, 'role', role),
      onLeader: (notice) => push(page, 'leader', notice),
      onPush: (name, data) => push(page, name, data),
    });
    tabs = joined;
    return joined.ready;
  }

  const api: Record<string, (...args: never[]) => unknown> = {
    open(config: OpenConfig) {
      opening ??= open(config);
      return opening;
    },
    async close() {
      if (closed) return;
      closed = true;
      await tabs?.close();
    },
  } satisfies Pick<WorkerApi, 'open' | 'close'>;
  // Leader or follower, every engine operation takes the same path: `tabs` decides where it runs.
  for (const op of ENGINE_OPS) {
    api[op] = (...args: unknown[]) => need().call(op, args);
  }
  serveRpc(api, page);
}
