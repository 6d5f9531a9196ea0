/**
 * The jobs the bench runner asks a bench page to do, and what each returns. Shared by the
 * Node runner and the page, so the two cannot drift apart. A job returns raw measurements
 * (durations, latencies); the runner turns them into figures.
 */

/**
 * What a workload runs against: `raw` the hand-written ceiling, `cairn` Cairn on OPFS,
 * `cairn-idb` Cairn on `storage: 'indexeddb'`, and the peers: `idb`, `dexie`, `pglite`.
 */
export type TargetName = 'raw' | 'cairn' | 'cairn-idb' | 'idb' | 'dexie' | 'pglite';

/** Every target, in the order tables list them. */
export const TARGETS: readonly TargetName[] = ['raw', 'cairn', 'cairn-idb', 'idb', 'dexie', 'pglite'];

/** The targets of W6 (a large store each): Cairn, its ceiling and idb; the other peers are left out of it (time). */
export const SCALE_TARGETS: readonly TargetName[] = ['raw', 'cairn', 'cairn-idb', 'idb'];

/** The targets Firefox runs: no OPFS-backed peer there (PGlite's opfs-ahp needs Chromium's sync access handles in its worker). */
export const FIREFOX_TARGETS: readonly TargetName[] = ['raw', 'cairn', 'idb', 'dexie'];

/** The targets that run Cairn itself, and so have an open-to-first-read figure. */
export type CairnTargetName = 'cairn' | 'cairn-idb';

/** Extra events of one stream appended between timed calls (untimed), so that stream is spread over the log. */
export interface Interleave {
  stream: string;
  /** Events appended after each call, until `total` are appended. */
  perCall: number;
  total: number;
}

/** How many interleaved events follow timed call `call` (from 0), and the index of the first. */
export function interleaved(i: Interleave | undefined, call: number): { from: number; count: number } {
  if (i === undefined) return { from: 0, count: 0 };
  const from = call * i.perCall;
  return { from, count: Math.max(0, Math.min(i.perCall, i.total - from)) };
}

/** Journal, locking and sync settings for the PRAGMA study. */
export interface PragmaSettings {
  journalMode: 'DELETE' | 'TRUNCATE' | 'WAL';
  lockingMode: 'NORMAL' | 'EXCLUSIVE';
  synchronous: 'FULL' | 'NORMAL';
}

/** Each job kind with its arguments and its result. */
export interface JobMap {
  /** W1: `count` one-event appends to `stream`, each awaited before the next. */
  singleAppends: {
    args: { store: string; stream: string; count: number };
    result: { totalMs: number; latenciesMs: number[] };
  };
  /** W2: `count` one-event appends over `streams` streams, all issued at once. */
  concurrentAppends: {
    args: { store: string; streamPrefix: string; streams: number; count: number };
    /** raw also reports the same appends each in its own transaction (the single-commit rate). */
    result: { totalMs: number; singleCommitsMs?: number };
  };
  /** W3: `count` events in awaited calls of `batch`, each call to its own stream. */
  batchAppends: {
    args: { store: string; streamPrefix: string; count: number; batch: number; interleave?: Interleave };
    result: { totalMs: number };
  };
  /** W4: the first `count` events of the global log, read into the caller's realm in pages of `pageSize`. */
  readAll: {
    args: { store: string; count: number; pageSize: number };
    result: { totalMs: number; count: number };
  };
  /** W5: one whole stream, read `repeats` times. */
  readStream: {
    args: { store: string; stream: string; repeats: number };
    result: { samplesMs: number[]; count: number };
  };
  /** Closes a store, keeping its data. */
  close: { args: { store: string }; result: null };
  /** Closes a store and deletes its data. */
  drop: { args: { store: string }; result: null };
}

/** A job that every target can run. */
export type TargetJobKind = keyof JobMap;

/** One target's implementation of every job. */
export type BenchTarget = {
  [K in TargetJobKind]: (args: JobMap[K]['args']) => Promise<JobMap[K]['result']>;
};

/** Timings of one cold open, in ms from the moment the page asked for it. */
export interface ColdOpen {
  /** Until the store is open (openStore resolved, or the raw worker's database is migrated). */
  openMs: number;
  /** Until the first page of `pageSize` events is in the page. */
  totalMs: number;
  /** Phases of a raw cold open: worker script running, sqlite3 loaded, database open, migrated. */
  phases?: Record<string, number>;
  count: number;
}

/** Jobs that only the page (not a target) runs. */
export interface PageJobMap {
  /** Opens `store` from nothing (a new worker) and reads its first page. */
  coldOpen: { args: { target: 'raw' | CairnTargetName; store: string; pageSize: number }; result: ColdOpen };
  /** Opens a raw store with other PRAGMAs than Cairn's; returns the settings in force. */
  rawOpenWith: { args: { store: string; pragmas: PragmaSettings }; result: PragmaSettings };
}

/** Jobs of the live workloads (W7–W9), on Cairn on OPFS; `live.ts` in the page. */
export interface LiveJobMap {
  /** W7: opens `store` in this tab and subscribes to `stream` from its end; each event handled is reported on a BroadcastChannel. */
  liveSubscribe: { args: { store: string; stream: string }; result: { role: string } };
  /**
   * W7: in this tab, `warmup + count` single appends to `stream`, each awaited until the
   * subscriber (this tab or another) has handled it; the times from calling append to the
   * handler, corrected by the two tabs' clock offset.
   */
  liveLatency: {
    args: { store: string; stream: string; count: number; warmup: number };
    result: { role: string; latenciesMs: number[]; appendMs: number[]; clockOffsetMs: number };
  };
  /** W8: W2 (`count` appends at once over `streams` streams) with `subscriptions` subscriptions and `watches` watches open in this tab. */
  loadedAppends: {
    args: { store: string; streamPrefix: string; streams: number; count: number; subscriptions: number; watches: number };
    result: { totalMs: number; deliveryMs: number[]; delivered: number; watchCalls: number };
  };
  /** W9: opens `store` (a new worker) and reads its first `count` events in pages of `pageSize`, leaving it open and the events held by the page; the heaps are measured after. */
  openAndRead: { args: { store: string; count: number; pageSize: number }; result: { read: number } };
  /** Closes a store a live job opened in this tab. */
  liveClose: { args: { store: string }; result: null };
}

/** Anything the runner can send to the page. */
export type Job =
  | { [K in TargetJobKind]: { kind: K; target: TargetName; args: JobMap[K]['args'] } }[TargetJobKind]
  | { [K in keyof PageJobMap]: { kind: K; args: PageJobMap[K]['args'] } }[keyof PageJobMap]
  | { [K in keyof LiveJobMap]: { kind: K; args: LiveJobMap[K]['args'] } }[keyof LiveJobMap];

/** The result type of a job. */
export type JobResult<J extends Job> = J['kind'] extends TargetJobKind
  ? JobMap[J['kind']]['result']
  : J['kind'] extends keyof PageJobMap
    ? PageJobMap[J['kind']]['result']
    : J['kind'] extends keyof LiveJobMap
      ? LiveJobMap[J['kind']]['result']
      : never;

/** What a polled job reports. */
export type JobStatus = { done: false } | { done: true; ok: true; result: unknown } | { done: true; ok: false; error: string };

/** The API a bench page exposes on `window.cairnBench`. */
export interface BenchPageApi {
  /** Runs a job and resolves with its result. */
  run(job: Job): Promise<unknown>;
  /** Starts a job; poll it by the returned id (for drivers that cannot await long promises). */
  start(job: Job): number;
  /** The state of a started job; a finished job is forgotten once reported. */
  poll(id: number): JobStatus;
  /** The browser as the page sees it. */
  info(): { userAgent: string; hardwareConcurrency: number };
}
