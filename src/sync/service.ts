/**
 * A store's sync as the engine's host runs it (the leader's worker, or the in-process store
 * in Node): the runner, and the operations pages call on it (`SyncApi`). Without a sync
 * config the store does not sync, and says so; the runner, its transport and the wire schema
 * are loaded only by stores that sync.
 */
import type { Engine } from '../core/engine.ts';
import { InvalidArgumentError } from '../core/errors.ts';
import { SYNC_DISABLED, type SyncApi, type SyncConfig, type SyncStatus } from '../protocol/api.ts';

/** Where the service reports. */
export interface SyncPublish {
  status(status: SyncStatus): void;
  conflicts(ids: number[]): void;
  tokenNeeded(): void;
}

/** A running sync service. */
export interface SyncService {
  readonly api: SyncApi;
  stop(): Promise<void>;
}

/** Starts syncing `engine` as `config` says (or serves the status of a store that does not sync). */
export async function startSync(engine: Engine, config: SyncConfig | undefined, publish: SyncPublish, fetchFn?: typeof fetch): Promise<SyncService> {
  if (config === undefined) {
    return {
      api: {
        syncStatus: async () => SYNC_DISABLED,
        syncNow: async () => {
          throw new InvalidArgumentError('This store does not sync: open it with sync: { url }');
        },
        syncToken: async () => {},
      },
      stop: async () => {},
    };
  }
  const { SyncRunner } = await import('./runner.ts');
  const runner = new SyncRunner(
    engine,
    {
      url: config.url,
      ...(config.filter === undefined ? {} : { filter: config.filter }),
      ...(config.live === undefined ? {} : { live: config.live }),
      ...(config.interval === undefined ? {} : { interval: config.interval }),
      ...(fetchFn === undefined ? {} : { fetch: fetchFn }),
      awaitToken: config.token === true,
    },
    { status: publish.status, conflicts: publish.conflicts, tokenNeeded: publish.tokenNeeded },
  );
  await runner.start();
  // A page with a token gives it when asked: ask at the start.
  if (config.token === true) publish.tokenNeeded();
  return {
    api: {
      syncStatus: async () => runner.status,
      syncNow: () => runner.now(),
      syncToken: async (token) => {
        if (token !== null && (typeof token !== 'string' || token.length > 8192)) throw new InvalidArgumentError('A sync token is a string');
        runner.setToken(token ?? undefined);
      },
    },
    stop: () => runner.stop(),
  };
}
