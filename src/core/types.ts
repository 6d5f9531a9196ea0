/**
 * The public shapes of events, appends and reads, shared by every runtime.
 */
import type { ExpectedVersionValue } from './errors.ts';

/** Metadata travels with an event; `correlationId` and `causationId` are conventional. */
export interface Metadata {
  correlationId?: string;
  causationId?: string;
  [key: string]: unknown;
}

/** Maps each event type to the shape of its `data`. `DefaultEventMap` accepts any type. */
export type EventMap = Record<string, unknown>;
/** The loose map used when no schema is given. */
export type DefaultEventMap = Record<string, unknown>;

/** An event to append. `id` is optional: Cairn assigns a monotonic ULID. */
export interface EventInput<T extends string = string, D = unknown> {
  type: T;
  data?: D;
  metadata?: Metadata;
  /** A ULID; give one to make a retried append idempotent. */
  id?: string;
  /** The shape version of `data`, for upcasting; 1 when absent. */
  schemaVersion?: number;
}

/** The union of appendable events for an event map. */
export type EventInputOf<E extends EventMap> = {
  [K in keyof E & string]: EventInput<K, E[K]>;
}[keyof E & string];

/** An event as stored in the log. */
export interface RecordedEvent<T extends string = string, D = unknown> {
  id: string;
  stream: string;
  /** The stream name before its first '-', or the whole name. */
  category: string;
  /** The event's version in its stream, from 1. */
  version: number;
  /** The event's position in the global log, from 1. */
  position: number;
  type: T;
  data: D;
  metadata: Metadata;
  routingKey: string | null;
  /** Milliseconds since the Unix epoch, when the event was appended. */
  timestamp: number;
  schemaVersion: number;
  /** The position the sync server gave it; null while it waits to be pushed, and in stores that do not sync. */
  serverPosition: number | null;
}

/** The union of recorded events for an event map. */
export type RecordedEventOf<E extends EventMap> = {
  [K in keyof E & string]: RecordedEvent<K, E[K]>;
}[keyof E & string];

/** The sentinels of `expectedVersion`. Numbers are exact versions (0 = empty stream). */
export const ExpectedVersion = {
  /** No check (the default). */
  Any: 'any',
  /** The stream must have no events. */
  NoStream: 'no_stream',
  /** The stream must have at least one event. */
  StreamExists: 'stream_exists',
} as const;

/** `'any' | 'no_stream' | 'stream_exists' | number`. */
export type ExpectedVersion = ExpectedVersionValue;

/** Options of `append`. */
export interface AppendOptions {
  expectedVersion?: ExpectedVersion;
  routingKey?: string;
}

/** What `append` resolves to: the stream's new version and the last event's global position. */
export interface AppendResult {
  stream: string;
  version: number;
  position: number;
  ids: string[];
}

/** One stream's part of an `appendMany`. */
export interface AppendManyEntry<E extends EventMap = DefaultEventMap> extends AppendOptions {
  stream: string;
  events: readonly EventInputOf<E>[];
}

/** Options of `readStream`. */
export interface ReadStreamOptions {
  /** The first version to return (forward) or the highest (backward). */
  fromVersion?: number;
  direction?: 'forward' | 'backward';
  /** At most this many events; all when absent. */
  limit?: number;
}

/** Which events a read or subscription wants; the fields combine with AND. */
export interface EventFilter {
  stream?: string;
  category?: string;
  types?: readonly string[];
  routingKey?: string;
}

/** Relay-style paging: `first`/`after` pages forward, `last`/`before` backward. */
export interface PageArgs {
  first?: number;
  after?: string;
  last?: number;
  before?: string;
}

/** One edge of a page. */
export interface Edge<N> {
  cursor: string;
  node: N;
}

/** A Relay-style page of events, always in ascending global order. */
export interface Page<N> {
  edges: Edge<N>[];
  pageInfo: {
    hasNextPage: boolean;
    hasPreviousPage: boolean;
    startCursor: string | null;
    endCursor: string | null;
  };
}

/** Options of `events()`. */
export interface EventsOptions {
  /** Start after this global position; 0 (the default) reads from the beginning. */
  from?: number;
  /** How many events each round trip fetches. */
  batchSize?: number;
}

/** Where following the log starts: the beginning (`'start'`), its current end (`'end'`), or after a position. */
export type StartPosition = 'start' | 'end' | number;

/** Where a store keeps its data. */
export type StorageKind = 'opfs' | 'indexeddb' | 'memory';
/** What `openStore` may be asked for. */
export type StorageOption = StorageKind | 'auto';
/** `strict`: an append resolves after its commit is flushed; `relaxed`: after it is committed. */
export type Durability = 'strict' | 'relaxed';

/** Which streams a device syncs: those of the categories, and the streams, listed (both lists OR'ed); all when absent. */
export interface SyncFilter {
  categories?: string[];
  streams?: string[];
}
