/**
 * cairndb/worker: the worker runtime. `serve()` turns the current dedicated worker into a
 * Cairn store server; the default worker is nothing but `serve()`.
 * @example
 * // shop.worker.ts
 * import { serve } from 'cairndb/worker';
 * serve({ projections: [cartTotals] });
 */
import { createEngine, type Engine, type EngineOptions } from '../src/core/engine.ts';
import type { Projection } from '../src/core/projection.ts';
import { StorageUnavailableError, StoreClosedError } from '../src/core/errors.ts';
import { createSqliteWasmDriver } from '../src/core/sqlite-wasm-driver.ts';
import { loadSqlite } from '../src/core/sqlite-wasm.ts';
import { ENGINE_OPS, type OpenConfig, type OpenInfo, type PushMessages, type WorkerApi } from '../src/protocol/api.ts';
import { push, serveRpc, type Endpoint } from '../src/protocol/rpc.ts';
import { openDatabase } from './storage.ts';

export type { Projection, ProjectionDb, ProjectionProgress, ProjectionSetupDb } from '../src/core/projection.ts';
export type { RecordedEvent } from '../src/core/types.ts';

/** Options of `serve`. */
export interface ServeOptions {
  /** Where to listen; the worker's own global scope by default. */
  endpoint?: Endpoint;
  /** SQL read models kept inside the append transaction, rebuilt from the log when new or changed. */
  projections?: readonly Projection[];
  /** How many events one projection rebuild batch applies. Default 500. */
  rebuildBatchSize?: number;
}

/** Serves a Cairn store from this worker. */
export function serve(options: ServeOptions = {}): void {
  const endpoint = options.endpoint ?? (globalThis as unknown as Endpoint);
  let engine: Engine | undefined;
  let opening: Promise<OpenInfo> | undefined;
  let closed = false;
  let shutdown = async (): Promise<void> => {};

  function need(): Engine {
    if (closed) throw new StoreClosedError();
    if (engine === undefined) throw new StoreClosedError('The store is not open yet: call open first');
    return engine;
  }

  async function open(config: OpenConfig): Promise<OpenInfo> {
    const releaseLock = await holdStoreLock(config.name);
    try {
      const sqlite3 = await loadSqlite();
      const opened = await openDatabase(sqlite3, config.name, config.storage, config.durability);
      const engineOptions: EngineOptions = { maxEventBytes: config.maxEventBytes };
      if (options.projections) engineOptions.projections = options.projections;
      if (options.rebuildBatchSize !== undefined) engineOptions.rebuildBatchSize = options.rebuildBatchSize;
      try {
        engine = createEngine(createSqliteWasmDriver(sqlite3, opened.db), engineOptions);
      } catch (e) {
        opened.db.close();
        opened.release();
        throw e;
      }
      const e = engine;
      e.onCommit((notice) => push(endpoint, 'commit', notice satisfies PushMessages['commit']));
      e.onProjectionProgress((progress) => push(endpoint, 'projection', progress satisfies PushMessages['projection']));
      shutdown = async () => {
        await e.close();
        opened.release();
        releaseLock();
      };
      return { storage: opened.storage, role: 'leader' };
    } catch (e) {
      releaseLock();
      throw e;
    }
  }

  const api: Record<string, (...args: never[]) => unknown> = {
    open(config: OpenConfig) {
      opening ??= open(config);
      return opening;
    },
    async close() {
      if (closed) return;
      closed = true;
      await shutdown();
    },
  } satisfies Pick<WorkerApi, 'open' | 'close'>;
  for (const op of ENGINE_OPS) {
    api[op] = (...args: never[]) => (need()[op] as (...a: never[]) => unknown)(...args);
  }
  serveRpc(api, endpoint);
}

/**
 * Takes the store's Web Lock, which marks the one worker that may open its database, and
 * holds it until the returned function is called.
 */
async function holdStoreLock(name: string): Promise<() => void> {
  const locks = typeof navigator === 'undefined' ? undefined : navigator.locks;
  if (locks === undefined) return () => {};
  let release!: () => void;
  const held = new Promise<void>((resolve) => (release = resolve));
  const granted = await new Promise<boolean>((resolve) => {
    void locks.request(`cairn:${name}`, { ifAvailable: true }, async (lock) => {
      resolve(lock !== null);
      if (lock !== null) await held;
    });
  });
  if (!granted) {
    throw new StorageUnavailableError(`The store "${name}" is already open in another tab or worker`);
  }
  return release;
}
