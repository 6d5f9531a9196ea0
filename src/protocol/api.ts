/**
 * The API a Cairn worker serves. It is the engine's own interface (minus what cannot cross
 * a boundary) plus the handshake, so page and worker cannot drift apart.
 *
 * Besides replies, a worker pushes `PushMessages` to its page (see `rpc.ts`, `push`).
 */
import type { CommitNotice, Engine } from '../core/engine.ts';
import { InvalidArgumentError } from '../core/errors.ts';
import { MAX_EVENT_BYTES_LIMIT } from '../core/limits.ts';
import { MAX_QUERY_TIMEOUT } from '../core/query-params.ts';
import { push, type Endpoint } from './rpc.ts';
import type { ProjectionProgress } from '../core/projection.ts';
import type { SyncFilter } from '../core/types.ts';
import { validateSyncFilter } from '../core/validate.ts';
import type { Durability, StorageKind, StorageOption } from '../core/types.ts';

/** What the page asks the worker to open. */
export interface OpenConfig {
  name: string;
  storage: StorageOption;
  durability: Durability;
  maxEventBytes: number;
  /** The time budget of a query when the call gives none, in ms. */
  queryTimeout: number;
  /** How long a request may wait for a leader before failing with NO_LEADER, in ms. */
  leaderTimeout: number;
  /** Where and what to sync; absent: the store does not sync. */
  sync?: SyncConfig;
  /** A backup to open the store from (`store.backup()`); applied by the first leader only. */
  restore?: Uint8Array;
  /** With `restore`: whether it may replace a store that holds events. */
  overwrite?: boolean;
}

/** A store's sync, as the worker (or the in-process store) runs it. */
export interface SyncConfig {
  /** The sync server's base URL. */
  url: string;
  /** Which streams to sync; all when absent. */
  filter?: SyncFilter;
  /** Keep a live stream open for pokes (default true). */
  live?: boolean;
  /** How often to sync without a poke, in ms (default 30 000). */
  interval?: number;
  /** True when the pages give a token: the runner waits for one before its first try. */
  token?: boolean;
}

/** Where a device's sync stands. */
export type SyncStateName = 'disabled' | 'offline' | 'connecting' | 'syncing' | 'idle' | 'error';

/** What `store.sync.status` reports. */
export interface SyncStatus {
  state: SyncStateName;
  /** Local writes the server has not confirmed yet. */
  pending: number;
  /** The newest server position this device has seen; null before the first pull. */
  serverPosition: number | null;
  /** When the device was last caught up with the server (ms since the epoch). */
  lastSyncedAt: number | null;
  /** The last failure, while it lasts. */
  error?: { code: string; message: string };
}

/** The status of a store that does not sync. */
export const SYNC_DISABLED: SyncStatus = { state: 'disabled', pending: 0, serverPosition: null, lastSyncedAt: null };

/** Whether a tab's worker owns the database (`leader`) or forwards to the one that does. */
export type Role = 'leader' | 'follower';

/** What the worker opened. */
export interface OpenInfo {
  storage: StorageKind;
  role: Role;
  /** The worker's unique id, which names its lifetime lock (see `workerLockName`). */
  worker: string;
}

/** The engine operations that cross the boundary as they are (and are forwarded between tabs). */
export const ENGINE_OPS = [
  'append',
  'appendMany',
  'readStream',
  'read',
  'readFrom',
  'head',
  'query',
  'openConsumer',
  'advanceConsumer',
  'consumers',
  'deadLetters',
  'discardDeadLetter',
  'projections',
  'readEvents',
  'loadAggregate',
  'saveSnapshot',
  'conflicts',
  'resolveConflict',
  'importEvents',
  'backup',
] as const;

/** Engine operations only the leader's own sync runner calls: never served to pages or other tabs. */
export const RUNNER_OPS = ['syncOpen', 'syncState', 'outbox', 'outboxPushed', 'applyPulled'] as const;

/** The sync runner's operations, served by the leader (and forwarded to it) like the engine's. */
export const SYNC_OPS = ['syncStatus', 'syncNow', 'syncToken'] as const;

/** Every operation a page (or a follower tab) may ask of the leader. */
export const ROUTED_OPS = [...ENGINE_OPS, ...SYNC_OPS] as const;

/** One of `ROUTED_OPS`. */
export type RoutedOp = (typeof ROUTED_OPS)[number];

/** The sync runner as pages see it. */
export interface SyncApi {
  /** Where sync stands now. */
  syncStatus(): Promise<SyncStatus>;
  /** Pushes what is pending and pulls what is new; resolves when caught up. */
  syncNow(): Promise<void>;
  /** Gives the runner the user's token (after it asked for one, or when it was renewed). */
  syncToken(token: string | null): Promise<void>;
}

/** One of `ENGINE_OPS`. */
export type EngineOp = (typeof ENGINE_OPS)[number];

/** True when `op` names one of `ENGINE_OPS`. */
export function isEngineOp(op: unknown): op is EngineOp {
  return (ENGINE_OPS as readonly unknown[]).includes(op);
}

/** True when `op` names one of `SYNC_OPS`. */
export function isSyncOp(op: unknown): op is (typeof SYNC_OPS)[number] {
  return (SYNC_OPS as readonly unknown[]).includes(op);
}

// Every engine method is either forwarded or handled on purpose: adding one to the engine
// without deciding how it crosses the boundary fails to compile here.
type Unrouted = Exclude<keyof Engine, EngineOp | (typeof RUNNER_OPS)[number] | 'onCommit' | 'onProjectionProgress' | 'close'>;
const allRouted: [Unrouted] extends [never] ? true : Unrouted = true;
void allRouted;

/** The operations of a store's worker. */
export type WorkerApi = Pick<Engine, EngineOp | 'close'> & SyncApi & {
  /** The handshake: opens the store. Must be the first call. */
  open(config: OpenConfig): Promise<OpenInfo>;
};

/** A leader has started serving the store; every event up to `head` is in it. */
export interface LeaderNotice {
  head: number;
}

/**
 * What a worker pushes to its page, by push name. The leader's pushes (`commit` and any
 * other it publishes) reach every tab's page; `role` and `leader` are each worker's own.
 */
export interface PushMessages {
  /** Events were committed (by any tab). */
  commit: CommitNotice;
  /** This tab's worker changed role (a follower took over as leader). */
  role: Role;
  /** A new leader serves the store; a reader that may have missed a commit notice catches up from here. */
  leader: LeaderNotice;
  /** A projection's build moved on, finished or failed. */
  projection: ProjectionProgress;
  /** The sync runner's status changed. */
  sync: SyncStatus;
  /** The sync runner found conflicts (their ids). */
  syncConflicts: number[];
  /** The sync runner needs the user's token: a page that has one answers with `syncToken`. */
  syncToken: null;
}

/** Posts one of the pushes of `PushMessages`, typed by its name. */
export function sendPush<K extends keyof PushMessages>(endpoint: Endpoint, name: K, data: PushMessages[K]): void {
  push(endpoint, name, data);
}

const STORAGES: readonly string[] = ['auto', 'opfs', 'indexeddb', 'memory'];

/** Checks an `OpenConfig` as the worker receives it (any script of the origin may post one). */
export function parseOpenConfig(data: unknown): OpenConfig {
  if (typeof data !== 'object' || data === null) throw new InvalidArgumentError('open needs its config');
  const c = data as Record<string, unknown>;
  const positive = (key: string, max: number): number => {
    const v = c[key];
    if (typeof v !== 'number' || !Number.isFinite(v) || v <= 0 || v > max) {
      throw new InvalidArgumentError(`${key} must be a number from 1 to ${max}, got ${String(v)}`);
    }
    return v;
  };
  if (typeof c.name !== 'string' || c.name.length === 0 || c.name.length > 200) {
    throw new InvalidArgumentError('A store needs a name: a non-empty string of at most 200 characters');
  }
  if (typeof c.storage !== 'string' || !STORAGES.includes(c.storage)) {
    throw new InvalidArgumentError(`Unknown storage ${JSON.stringify(c.storage)}; it is one of ${STORAGES.join(', ')}`);
  }
  if (c.durability !== 'strict' && c.durability !== 'relaxed') {
    throw new InvalidArgumentError(`durability must be 'strict' or 'relaxed', got ${JSON.stringify(c.durability)}`);
  }
  const maxEventBytes = positive('maxEventBytes', MAX_EVENT_BYTES_LIMIT);
  if (!Number.isSafeInteger(maxEventBytes)) throw new InvalidArgumentError('maxEventBytes must be an integer');
  if (c.restore !== undefined && !(c.restore instanceof Uint8Array)) {
    throw new InvalidArgumentError('restore must be the Uint8Array store.backup() returned');
  }
  if (c.overwrite !== undefined && typeof c.overwrite !== 'boolean') throw new InvalidArgumentError('overwrite must be a boolean');
  const config: OpenConfig = {
    ...(c.restore instanceof Uint8Array ? { restore: c.restore, overwrite: c.overwrite === true } : {}),
    name: c.name,
    storage: c.storage as StorageOption,
    durability: c.durability,
    maxEventBytes,
    leaderTimeout: positive('leaderTimeout', 24 * 3600_000),
    queryTimeout: positive('queryTimeout', MAX_QUERY_TIMEOUT),
  };
  if (c.sync !== undefined) config.sync = parseSyncConfig(c.sync);
  return config;
}

/** Checks a sync config. */
export function parseSyncConfig(data: unknown): SyncConfig {
  if (typeof data !== 'object' || data === null) throw new InvalidArgumentError('sync needs { url }');
  const s = data as Record<string, unknown>;
  if (typeof s.url !== 'string' || !/^https?:\/\//.test(s.url)) throw new InvalidArgumentError('sync.url must be an http: or https: URL');
  const out: SyncConfig = { url: s.url };
  if (s.filter !== undefined) out.filter = validateSyncFilter(s.filter);
  if (s.live !== undefined) {
    if (typeof s.live !== 'boolean') throw new InvalidArgumentError('sync.live must be a boolean');
    out.live = s.live;
  }
  if (s.token !== undefined) {
    if (typeof s.token !== 'boolean') throw new InvalidArgumentError('sync.token must be a boolean');
    out.token = s.token;
  }
  if (s.interval !== undefined) {
    if (typeof s.interval !== 'number' || !(s.interval >= 100) || !Number.isFinite(s.interval)) {
      throw new InvalidArgumentError('sync.interval must be a number of ms >= 100');
    }
    out.interval = s.interval;
  }
  return out;
}
