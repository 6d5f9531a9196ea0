/**
 * Group commit: the single writer's request loop.
 *
 * Responsibilities:
 * - Every request is queued, and the queue is drained in one macrotask. Requests that arrive
 *   while a drain is running (or before it starts) share the next transaction.
 * - Each write runs inside its own SAVEPOINT. A write that throws rolls back alone; the
 *   others in the group still commit.
 * - Reads run in queue order, inside the same transaction, so a read issued after a write
 *   sees it (read-your-writes in request order). Their answers are held until COMMIT.
 * - Every promise settles only after the COMMIT that holds its effects. If COMMIT fails,
 *   the whole group rejects with that error and nothing of it is kept.
 *
 * Interleavings handled:
 * - A drain is synchronous, so nothing enters the transaction midway; new requests queue
 *   for the next drain, which is scheduled as soon as the first of them arrives.
 * - `committed` callbacks run after COMMIT and before any promise settles, so whoever is
 *   told of a commit (subscribers, other tabs) can already read it.
 */
import type { SqlDriver } from './driver.ts';
import { StoreClosedError } from './errors.ts';

/** Runs `fn` in a later macrotask. */
export type Scheduler = (fn: () => void) => void;

interface Job {
  write: boolean;
  run: () => unknown;
  committed: ((result: unknown) => void) | undefined;
  resolve: (value: unknown) => void;
  reject: (error: unknown) => void;
}

type Outcome = { ok: true; value: unknown } | { ok: false; error: unknown };

/** The ordered request queue of one database connection. */
export class CommitQueue {
  readonly #driver: SqlDriver;
  readonly #schedule: Scheduler;
  readonly #mapError: (e: unknown) => unknown;
  #jobs: Job[] = [];
  #scheduled = false;
  #closed = false;

  constructor(driver: SqlDriver, options: { schedule?: Scheduler; mapError?: (e: unknown) => unknown } = {}) {
    this.#driver = driver;
    this.#schedule = options.schedule ?? defaultScheduler();
    this.#mapError = options.mapError ?? ((e) => e);
  }

  /** Queues a write; `committed` runs with its result once its transaction has committed. */
  write<T>(run: () => T, committed?: (result: T) => void): Promise<T> {
    return this.#enqueue(true, run, committed as ((r: unknown) => void) | undefined);
  }

  /** Queues a read behind every request already queued. */
  read<T>(run: () => T): Promise<T> {
    return this.#enqueue(false, run, undefined);
  }

  /** Drains what is queued, then refuses new requests. */
  close(): void {
    this.drain();
    this.#closed = true;
  }

  /** Runs everything queued now, in one transaction if any of it writes. */
  drain(): void {
    this.#scheduled = false;
    const jobs = this.#jobs;
    if (jobs.length === 0) return;
    this.#jobs = [];
    if (!jobs.some((j) => j.write)) {
      for (const job of jobs) settle(job, this.#attempt(job));
      return;
    }
    const db = this.#driver;
    const outcomes: Outcome[] = [];
    try {
      db.run('BEGIN IMMEDIATE');
      for (const job of jobs) {
        if (!job.write) {
          outcomes.push(this.#attempt(job));
          continue;
        }
        db.run('SAVEPOINT request');
        const outcome = this.#attempt(job);
        if (!outcome.ok) db.run('ROLLBACK TO request');
        db.run('RELEASE request');
        outcomes.push(outcome);
      }
      db.run('COMMIT');
    } catch (e) {
      // BEGIN, a savepoint or COMMIT itself failed (I/O, quota): nothing of the group is kept.
      try {
        db.run('ROLLBACK');
      } catch {
        // No transaction was open, or it is already gone.
      }
      const error = this.#mapError(e);
      for (const job of jobs) job.reject(error);
      return;
    }
    for (let i = 0; i < jobs.length; i++) {
      const job = jobs[i]!;
      const outcome = outcomes[i]!;
      if (outcome.ok && job.committed) job.committed(outcome.value);
    }
    for (let i = 0; i < jobs.length; i++) settle(jobs[i]!, outcomes[i]!);
  }

  #enqueue(write: boolean, run: () => unknown, committed: ((r: unknown) => void) | undefined): Promise<never> {
    if (this.#closed) return Promise.reject(new StoreClosedError());
    return new Promise<never>((resolve, reject) => {
      this.#jobs.push({ write, run, committed, resolve: resolve as (v: unknown) => void, reject });
      if (!this.#scheduled) {
        this.#scheduled = true;
        this.#schedule(() => this.drain());
      }
    });
  }

  #attempt(job: Job): Outcome {
    try {
      return { ok: true, value: job.run() };
    } catch (e) {
      return { ok: false, error: this.#mapError(e) };
    }
  }
}

function settle(job: Job, outcome: Outcome): void {
  if (outcome.ok) job.resolve(outcome.value);
  else job.reject(outcome.error);
}

/** A macrotask scheduler for the current runtime: setImmediate, else a MessageChannel, else setTimeout. */
export function defaultScheduler(): Scheduler {
  const g = globalThis as { setImmediate?: (fn: () => void) => unknown };
  if (typeof g.setImmediate === 'function') {
    const setImmediate = g.setImmediate;
    return (fn) => void setImmediate(fn);
  }
  if (typeof MessageChannel === 'function') {
    // A posted message is a macrotask without setTimeout's clamping.
    const channel = new MessageChannel();
    const pending: (() => void)[] = [];
    channel.port1.onmessage = () => pending.shift()?.();
    return (fn) => {
      pending.push(fn);
      channel.port2.postMessage(null);
    };
  }
  return (fn) => void setTimeout(fn, 0);
}
