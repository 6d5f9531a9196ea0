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
}

/** What the worker opened. */
export interface OpenInfo {
  storage: StorageKind;
  role: 'leader' | 'follower';
}

/** The engine operations that cross the boundary as they are. */
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
  'projections',
] as const;

/** One of `ENGINE_OPS`. */
export type EngineOp = (typeof ENGINE_OPS)[number];

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

/** What a worker pushes to its page, by push name. */
export interface PushMessages {
  /** Events were committed (by any tab). */
  commit: CommitNotice;
  /** A projection's build moved on, finished or failed. */
  projection: ProjectionProgress;
}
