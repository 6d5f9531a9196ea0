/** The options of `openStore`, and their checks: a bad option fails at once, typed, before anything starts. */
import type { SqlDriver } from '../core/driver.ts';
import { InvalidArgumentError } from '../core/errors.ts';
import { DEFAULT_MAX_EVENT_BYTES, DEFAULT_QUERY_TIMEOUT } from '../core/limits.ts';
import type { Projection } from '../core/projection.ts';
import { validateTimeout } from '../core/query-params.ts';
import type { SyncFilter } from '../core/types.ts';
import type { Durability, StorageOption } from '../core/types.ts';
import type { UnknownEvents, Upcasters } from '../core/upcast.ts';
import { parseOpenConfig, type OpenConfig } from '../protocol/api.ts';

/** Options of `openStore`. */
export interface OpenStoreOptions {
  /** The store's name; each name is its own database. */
  name: string;
  /** Where to keep the data. `auto` (the default) takes OPFS where it can, else memory. */
  storage?: StorageOption;
  /** `strict` (the default): an append resolves once its commit is flushed to storage. */
  durability?: Durability;
  /** The largest data plus metadata of one event, in UTF-8 bytes. Default 1 MiB, at most 16 MiB. */
  maxEventBytes?: number;
  /** The time budget of `query` and each `watch` run when the call gives none, in ms. Default 5000. */
  queryTimeout?: number;
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
  /**
   * Sync with a server (`cairndb/server`): local appends are pushed when the network is
   * there, and every device ends up with the server's events. See README "Sync".
   */
  sync?: SyncOptions;
  /** Outside a browser: how many events one projection rebuild batch applies (default 500). In a browser: `serve({ rebuildBatchSize })`. */
  rebuildBatchSize?: number;
  /** Asks the browser to keep the origin's data (`store.persist()`) while the store opens. Default false. */
  persist?: boolean;
  /**
   * Opens the store from a backup (`store.backup()`). A store of that name that already holds
   * events is not replaced (INVALID_ARGUMENT) unless `overwrite` is true.
   */
  restore?: Uint8Array;
  /** With `restore`: replace a store that holds events. Default false. */
  overwrite?: boolean;
}

/** How long a call waits for a leader by default, in ms. */
export const DEFAULT_LEADER_TIMEOUT = 10_000;


/** Options of a store's sync. */
export interface SyncOptions {
  /** The sync server's base URL, e.g. `https://sync.example.com`. */
  url: string;
  /** The user's bearer token, asked again whenever the server refuses the last one. */
  token?: () => string | undefined | Promise<string | undefined>;
  /** Which streams to sync: those of these categories, and these streams; all when absent. */
  filter?: SyncFilter;
  /** Keep a live connection open so that other devices' events arrive at once (default true). */
  live?: boolean;
  /** How often to sync without being told to, in ms (default 30 000). */
  interval?: number;
  /** Outside a browser only: the `fetch` to reach the server with (a proxy, a test's network). */
  fetch?: typeof fetch;
}

/** Checks `openStore`'s options and turns them into what the engine (or worker) opens with. */
export function openConfig(options: OpenStoreOptions): OpenConfig {
  if (typeof options !== 'object' || options === null) throw new InvalidArgumentError('openStore needs its options: { name }');
  const name = options.name;
  if (typeof name !== 'string' || name.length === 0 || name.length > 200) {
    throw new InvalidArgumentError('openStore needs a name: a non-empty string of at most 200 characters');
  }
  if (options.persist !== undefined && typeof options.persist !== 'boolean') throw new InvalidArgumentError('persist must be a boolean');
  const leaderTimeout = options.leaderTimeout ?? DEFAULT_LEADER_TIMEOUT;
  if (typeof leaderTimeout !== 'number' || !(leaderTimeout > 0) || !Number.isFinite(leaderTimeout)) {
    throw new InvalidArgumentError('leaderTimeout must be a positive number of milliseconds');
  }
  const sync = options.sync;
  if (sync !== undefined && sync.token !== undefined && typeof sync.token !== 'function') {
    throw new InvalidArgumentError('sync.token must be a function that returns the token');
  }
  // The worker checks the same config again when it receives it.
  return parseOpenConfig({
    ...(sync === undefined
      ? {}
      : { sync: { url: sync.url, filter: sync.filter, live: sync.live, interval: sync.interval, token: sync.token !== undefined } }),
    name,
    storage: options.storage ?? 'auto',
    durability: options.durability ?? 'strict',
    maxEventBytes: options.maxEventBytes ?? DEFAULT_MAX_EVENT_BYTES,
    leaderTimeout,
    queryTimeout: validateTimeout(options.queryTimeout, 'queryTimeout') ?? DEFAULT_QUERY_TIMEOUT,
    ...(options.restore === undefined ? {} : { restore: options.restore, overwrite: options.overwrite ?? false }),
  });
}
