/**
 * The API a Cairn worker serves. It is the engine's own interface (minus what cannot cross
 * a boundary) plus the handshake, so page and worker cannot drift apart.
 *
 * Besides replies, a worker pushes `PushMessages` to its page (see `rpc.ts`, `push`).
 */
import type { CommitNotice, Engine } from '../core/engine.ts';
import type { ProjectionProgress } from '../core/projection.ts';
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
}

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
] as const;

/** One of `ENGINE_OPS`. */
export type EngineOp = (typeof ENGINE_OPS)[number];

/** True when `op` names one of `ENGINE_OPS`. */
export function isEngineOp(op: unknown): op is EngineOp {
  return (ENGINE_OPS as readonly unknown[]).includes(op);
}

// Every engine method is either forwarded or handled on purpose: adding one to the engine
// without deciding how it crosses the boundary fails to compile here.
type Unrouted = Exclude<keyof Engine, EngineOp | 'onCommit' | 'onProjectionProgress' | 'close'>;
const allRouted: [Unrouted] extends [never] ? true : Unrouted = true;
void allRouted;

/** The operations of a store's worker. */
export type WorkerApi = Pick<Engine, EngineOp | 'close'> & {
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
}
