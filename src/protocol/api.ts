/**
 * The API a Cairn worker serves. It is the engine's own interface (minus what cannot cross
 * a boundary) plus the handshake, so page and worker cannot drift apart.
 */
import type { Engine } from '../core/engine.ts';
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

/** The operations of a store's worker. */
export type WorkerApi = Omit<Engine, 'onCommit'> & {
  /** The handshake: opens the store. Must be the first call. */
  open(config: OpenConfig): Promise<OpenInfo>;
};
