/**
 * cairndb/worker: the worker runtime. `serve()` turns the current dedicated worker into a
 * Cairn store server; the default worker is nothing but `serve()`.
 *
 * Every tab runs its own worker. The workers of one store elect a leader (`tabs/`): the
 * leader opens the database (`leader.ts`, loaded only then), the others forward to it. The
 * page sees the same API either way; what differs between the roles lives in `tabs/`.
 * @example
 * // shop.worker.ts
 * import { serve } from 'cairndb/worker';
 * serve({ projections: [cartTotals] });
 */
import { InvalidArgumentError, StoreClosedError } from '../src/core/errors.ts';
import {
  ROUTED_OPS,
  parseOpenConfig,
  sendPush,
  type OpenConfig,
  type OpenInfo,
  type PushMessages,
  type WorkerApi,
} from '../src/protocol/api.ts';
import { push, serveRpc, type Endpoint } from '../src/protocol/rpc.ts';
import type { ServeOptions } from './serve-options.ts';
import { joinTabs, type Tabs } from './tabs/index.ts';

export type { Projection, ProjectionDb, ProjectionProgress, ProjectionSetupDb } from '../src/core/projection.ts';
export type { RecordedEvent } from '../src/core/types.ts';
export type { UnknownEvents, Upcasters } from '../src/core/upcast.ts';
export type { ServeOptions } from './serve-options.ts';

/** Serves a Cairn store from this worker. */
export function serve(options: ServeOptions = {}): void {
  const page = options.endpoint ?? (globalThis as unknown as Endpoint);
  let tabs: Tabs | undefined;
  let opening: Promise<OpenInfo> | undefined;
  let closed = false;

  /** Sends a push to every tab's page: this one directly, the others through their workers. */
  function publish<K extends keyof PushMessages>(name: K, data: PushMessages[K]): void {
    sendPush(page, name, data);
    tabs?.publish(name, data);
  }

  function need(): Tabs {
    if (closed) throw new StoreClosedError();
    if (tabs === undefined) throw new StoreClosedError('The store is not open yet: call open first');
    return tabs;
  }

  async function open(data: unknown): Promise<OpenInfo> {
    const config = parseOpenConfig(data);
    // A backup is restored by this worker's first open only, never again by a later promotion.
    let first = true;
    const joined = joinTabs({
      name: config.name,
      leaderTimeout: config.leaderTimeout,
      // A dynamic import: a follower never fetches SQLite.
      openLeader: async () => {
        const { restore: _restore, overwrite: _overwrite, ...plain } = config;
        const opening = first ? config : plain;
        first = false;
        return (await import('./leader.ts')).openLeader(opening, publish, options);
      },
      onRoleChange: (role) => sendPush(page, 'role', role),
      onLeader: (notice) => sendPush(page, 'leader', notice),
      // Relayed from the leader's tab as it came: the page checks what it receives.
      onPush: (name, data) => push(page, name, data),
    });
    tabs = joined;
    const info = await joined.ready;
    if (config.restore !== undefined && info.role === 'follower') {
      first = false;
      await joined.close();
      throw new InvalidArgumentError(`The store "${config.name}" is open in another tab: close it there to restore a backup into it`);
    }
    return info;
  }

  const api: Record<string, (...args: never[]) => unknown> = {
    open(config: OpenConfig) {
      opening ??= Promise.resolve().then(() => open(config));
      return opening;
    },
    async close() {
      if (closed) return;
      closed = true;
      await tabs?.close();
    },
  } satisfies Pick<WorkerApi, 'open' | 'close'>;
  // Leader or follower, every engine operation takes the same path: `tabs` decides where it runs.
  for (const op of ROUTED_OPS) {
    api[op] = (...args: unknown[]) => need().call(op, args);
  }
  serveRpc(api, page);
}
