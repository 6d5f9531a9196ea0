/**
 * What only the leader does: load sqlite-wasm, open the database and run the engine.
 * `worker/index.ts` imports this module dynamically once its worker holds the store's lock,
 * so a follower never fetches SQLite, installs the VFS or touches OPFS.
 */
import type { EngineOptions } from '../src/core/engine.ts';
import { loadSqlite } from '../src/core/sqlite-wasm.ts';
import { createUpcasting } from '../src/core/upcast.ts';
import { isSyncOp, type OpenConfig, type PushMessages } from '../src/protocol/api.ts';
import { startSync } from '../src/sync/service.ts';
import { watchVfsErrors } from './opfs-quota.ts';
import type { ServeOptions } from './serve-options.ts';
import type { LeaderServer } from './tabs/index.ts';
import { openStorage } from './storage.ts';

/** Opens the store's database and engine; `publish` receives every push meant for all tabs. */
export async function openLeader(
  config: OpenConfig,
  publish: <K extends keyof PushMessages>(name: K, data: PushMessages[K]) => void,
  options: Pick<ServeOptions, 'projections' | 'rebuildBatchSize' | 'upcasters' | 'unknownEvents'> = {},
): Promise<LeaderServer> {
  watchVfsErrors();
  const sqlite3 = await loadSqlite();
  const engineOptions: EngineOptions = {
    maxEventBytes: config.maxEventBytes,
    queryTimeout: config.queryTimeout,
    upcast: createUpcasting(options.upcasters, options.unknownEvents).upcast,
  };
  if (options.projections) engineOptions.projections = options.projections;
  if (options.rebuildBatchSize !== undefined) engineOptions.rebuildBatchSize = options.rebuildBatchSize;
  const opened = await openStorage(sqlite3, config, engineOptions);
  const { engine } = opened;
  engine.onCommit((notice) => publish('commit', notice));
  engine.onProjectionProgress((progress) => publish('projection', progress));
  // One sync runner for every tab: the leader's; it hands over with the leadership.
  const sync = await startSync(engine, config.sync, {
    status: (status) => publish('sync', status),
    conflicts: (ids) => publish('syncConflicts', ids),
    tokenNeeded: () => publish('syncToken', null),
  });
  return {
    storage: opened.storage,
    call(op, args) {
      if (isSyncOp(op)) return (sync.api[op] as (...a: unknown[]) => Promise<unknown>)(...args);
      return (engine[op] as (...a: unknown[]) => Promise<unknown>)(...args);
    },
    head: () => engine.head(),
    async close() {
      await sync.stop();
      await opened.close();
    },
  };
}
