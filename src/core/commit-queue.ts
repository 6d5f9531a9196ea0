/**
 * Group commit: the single writer's request loop.
 *
 * Responsibilities:
 * - Every request is queued, and the queue is drained in one macrotask. Requests that arrive
 *   while a drain is running (or before it starts) share the next transaction.
 * - Each write runs inside its own SAVEPOINT when the group holds more than one write, so a
 *   write that throws rolls back alone and the others still commit. A lone write needs no
 *   savepoint: if it fails, the whole transaction is rolled back before anything else runs.
 * - Reads run in queue order, inside the same transaction, so a read issued after a write
 *   sees it (read-your-writes in request order). Their answers are held until COMMIT.
 * - Every promise settles only after the COMMIT that holds its effects.
 *
 * Interleavings and failures handled:
 * - A drain is synchronous, so nothing enters the transaction midway; new requests queue
 *   for the next drain, which is scheduled as soon as the first of them arrives.
 * - A failure that takes the whole transaction with it (SQLite rolls back by itself on a
 *   full disk, an I/O error, running out of memory) fails only the request that hit it: the
 *   others of the group, those that already ran included, run again in a new transaction.
 * - BEGIN or COMMIT failing (an I/O error, a failed sync) belongs to the whole group: it is
 *   tried once more in a new transaction, then every request of it is refused.
 * - Each time a transaction is lost, `onTransactionLost` runs first, so that whoever keeps
 *   state in memory next to the database can read it back.
 * - `committed` callbacks run after COMMIT and before any promise settles, so whoever is
 *   told of a commit (subscribers, other tabs) can already read it.
 * - Where the database itself is not durable (SQLite in memory, kept in IndexedDB),
 *   `afterCommit` makes each committed transaction durable before anyone hears of it. No
 *   drain runs while it does, so what it persists is exactly that transaction. If it fails
 *   it has already taken the transaction back out of the database; the group is then run
 *   again one write per transaction, so that only a write that cannot be made durable on its
 *   own is refused (a full origin refuses the big append, not the small ones beside it).
 * - A group whose transaction failed for want of space (QUOTA_EXCEEDED at COMMIT) is run
 *   again the same way, one write per transaction, rather than refused whole.
 * - Consecutive writes queued with the same `Batcher` run as one step, inside one SAVEPOINT:
 *   a thousand single-event appends become one INSERT. A step that throws is rolled back and
 *   its writes run one by one instead, each in its own savepoint as above, so that batching
 *   never changes an outcome: it is only a faster way to the same one. If the step took the
 *   transaction with it, the group runs again without batching.
 */
import type { SqlDriver } from './driver.ts';
import { isQuotaExceeded, StoreClosedError } from './errors.ts';

/** Runs `fn` in a later macrotask. */
export type Scheduler = (fn: () => void) => void;

/** Options of a commit queue. */
export interface CommitQueueOptions {
  /** How a drain is deferred; the runtime's macrotask by default. */
  schedule?: Scheduler;
  /** Turns what a request threw into the error its caller gets. */
  mapError?: (e: unknown) => unknown;
  /** Called each time a transaction was lost (rolled back by SQLite or by a failed COMMIT), before anything runs again. */
  onTransactionLost?: () => void;
  /** Where the driver cannot say whether a transaction is open: whether a request's error took it with it. */
  endsTransaction?: (error: unknown) => boolean;
  /** Told how long each committed transaction took, BEGIN to COMMIT (and to durable), in ms, before its callbacks run. */
  onCommitted?: (ms: number) => void;
  /**
   * After each COMMIT, before any callback runs or promise settles: makes the transaction
   * durable where the database is not (undefined: nothing to wait for). A rejection means
   * it could not, and that the transaction was taken back out of the database.
   */
  afterCommit?: () => Promise<void> | undefined;
}

/**
 * Runs many queued writes of one kind as one step: returns each one's result, in order, or
 * throws to have them run one by one (with each write's own `run`) instead.
 */
export interface Batcher<I = unknown, R = unknown> {
  run(items: readonly I[]): R[];
}

interface Job {
  write: boolean;
  /** A write that can run as one step with its neighbours of the same batcher. */
  batch?: { by: Batcher; item: unknown };
  /** Runs between transactions, never inside one (a backup must see only committed data). */
  alone?: true;
  run: () => unknown;
  committed: ((result: unknown) => void) | undefined;
  resolve: (value: unknown) => void;
  reject: (error: unknown) => void;
}

type Outcome = { ok: true; value: unknown } | { ok: false; error: unknown };

/** How one attempt at a group's transaction ended. */
type Attempt =
  | { kind: 'committed'; outcomes: Outcome[] }
  /** A job's failure took the transaction with it: that job is refused, the rest run again. */
  | { kind: 'lost'; culprit: number; error: unknown }
  /** BEGIN, a savepoint or COMMIT failed: the group's own failure. */
  | { kind: 'failed'; error: unknown }
  /** A batched step took the transaction with it: run the group again, one write at a time. */
  | { kind: 'unbatch' };

/** The ordered request queue of one database connection. */
export class CommitQueue {
  readonly #driver: SqlDriver;
  readonly #schedule: Scheduler;
  readonly #mapError: (e: unknown) => unknown;
  readonly #onLost: () => void;
  readonly #endsTransaction: (error: unknown) => boolean;
  readonly #onCommitted: (ms: number) => void;
  readonly #afterCommit: () => Promise<void> | undefined;
  #jobs: Job[] = [];
  /** Groups to run, one at a time, before the queued jobs: a failed group's writes, each alone. */
  #alone: Job[][] = [];
  /** True while a committed transaction is being made durable: no drain runs meanwhile. */
  #persisting = false;
  #scheduled = false;
  #closed = false;
  #idle: (() => void)[] = [];

  constructor(driver: SqlDriver, options: CommitQueueOptions = {}) {
    this.#driver = driver;
    this.#schedule = options.schedule ?? defaultScheduler();
    this.#mapError = options.mapError ?? ((e) => e);
    this.#onLost = options.onTransactionLost ?? (() => {});
    this.#endsTransaction = options.endsTransaction ?? (() => false);
    this.#onCommitted = options.onCommitted ?? (() => {});
    this.#afterCommit = options.afterCommit ?? (() => undefined);
  }

  /** Queues a write; `committed` runs with its result once its transaction has committed. */
  write<T>(run: () => T, committed?: (result: T) => void): Promise<T> {
    return this.#enqueue(true, run, committed as ((r: unknown) => void) | undefined);
  }

  /**
   * Queues a write that may run in one step with the writes queued next to it with the same
   * `by`: `by.run` gets their items and answers for all of them; `run` is this write alone,
   * for when the step cannot be taken.
   */
  writeBatched<I, T>(by: Batcher<I, T>, item: I, run: () => T, committed?: (result: T) => void): Promise<T> {
    return this.#enqueue(true, run, committed as ((r: unknown) => void) | undefined, false, { by: by as Batcher, item });
  }

  /** Queues a read behind every request already queued. */
  read<T>(run: () => T): Promise<T> {
    return this.#enqueue(false, run, undefined);
  }

  /** Queues a read that runs outside any transaction, once everything before it has committed (and been made durable). */
  readCommitted<T>(run: () => T): Promise<T> {
    return this.#enqueue(false, run, undefined, true);
  }

  /** Refuses new requests; resolves once everything queued has run (and been made durable). */
  close(): Promise<void> {
    this.#closed = true;
    const idle = new Promise<void>((resolve) => this.#idle.push(resolve));
    this.drain();
    return idle;
  }

  /** Runs everything queued now, in one transaction if any of it writes (or waits for the durable step in progress). */
  drain(): void {
    this.#scheduled = false;
    while (!this.#persisting) {
      const jobs = this.#alone.shift() ?? this.#nextGroup();
      if (jobs.length === 0) {
        for (const resolve of this.#idle.splice(0)) resolve();
        return;
      }
      this.#runGroup(jobs);
    }
  }

  /** The queued jobs up to the first that must run alone (or that one by itself). */
  #nextGroup(): Job[] {
    const cut = this.#jobs.findIndex((j) => j.alone);
    return this.#jobs.splice(0, cut === -1 ? this.#jobs.length : Math.max(cut, 1));
  }

  /** Runs one group; returns once it settled, or once it is being made durable. */
  #runGroup(group: Job[]): void {
    let jobs = group;
    let groupRetries = 1;
    let batching = true;
    for (;;) {
      if (!jobs.some((j) => j.write)) {
        for (const job of jobs) settle(job, this.#attempt(job));
        return;
      }
      const started = performance.now();
      const attempt = this.#transaction(jobs, batching);
      if (attempt.kind === 'committed') {
        this.#committed(jobs, attempt.outcomes, started);
        return;
      }
      try {
        this.#onLost();
      } catch (e) {
        // What is kept next to the database cannot even be read back: the storage is gone.
        const error = this.#mapError(e);
        for (const job of jobs) job.reject(error);
        return;
      }
      if (attempt.kind === 'unbatch') {
        batching = false;
        continue;
      }
      if (attempt.kind === 'lost') {
        jobs[attempt.culprit]!.reject(attempt.error);
        jobs = jobs.filter((_, i) => i !== attempt.culprit);
        continue;
      }
      const error = this.#mapError(attempt.error);
      if (isQuotaExceeded(error) && this.#split(jobs)) return;
      if (groupRetries-- > 0) continue;
      for (const job of jobs) job.reject(error);
      return;
    }
  }

  /** A committed group: made durable if need be, then its callbacks run and its promises settle. */
  #committed(jobs: Job[], outcomes: Outcome[], started: number): void {
    const finish = (): void => {
      this.#onCommitted(performance.now() - started);
      this.#finish(jobs, outcomes);
    };
    let durable: Promise<void> | undefined;
    try {
      durable = this.#afterCommit();
    } catch (e) {
      durable = Promise.reject(e);
    }
    if (durable === undefined) return finish();
    this.#persisting = true;
    durable
      .then(finish, (e: unknown) => {
        this.#onLost();
        if (this.#split(jobs)) return;
        // One write that could not be made durable: refused; the reads of its group run again.
        const error = this.#mapError(e);
        for (const job of jobs) {
          if (job.write) job.reject(error);
          else settle(job, this.#attempt(job));
        }
      })
      .finally(() => {
        this.#persisting = false;
        this.drain();
      });
  }

  /** Queues a group's jobs to run again one per transaction, ahead of the rest; false when it has only one write. */
  #split(jobs: Job[]): boolean {
    if (jobs.filter((j) => j.write).length < 2) return false;
    this.#alone.unshift(...jobs.map((j) => [j]));
    return true;
  }

  /** One attempt at running `jobs` in one transaction. */
  #transaction(jobs: readonly Job[], batching: boolean): Attempt {
    const db = this.#driver;
    const savepoints = jobs.filter((j) => j.write).length > 1;
    const outcomes: Outcome[] = [];
    let open = false;
    try {
      db.run('BEGIN IMMEDIATE');
      open = true;
      for (let i = 0; i < jobs.length; i++) {
        const job = jobs[i]!;
        if (batching && job.batch !== undefined) {
          const step = this.#batch(jobs, i);
          if (step === 'lost') return { kind: 'unbatch' };
          if (step !== undefined) {
            outcomes.push(...step);
            i += step.length - 1;
            continue;
          }
        }
        if (job.write && savepoints) db.run('SAVEPOINT request');
        const outcome = this.#attempt(job);
        outcomes.push(outcome);
        if (outcome.ok) {
          if (job.write && savepoints) db.run('RELEASE request');
          continue;
        }
        if (open && this.#lost(outcome.error)) return { kind: 'lost', culprit: i, error: outcome.error };
        if (!job.write || !open) continue;
        if (savepoints) {
          db.run('ROLLBACK TO request');
          db.run('RELEASE request');
        } else {
          // The lone write failed: nothing of the transaction is worth keeping.
          db.run('ROLLBACK');
          open = false;
        }
      }
      if (open) db.run('COMMIT');
      return { kind: 'committed', outcomes };
    } catch (e) {
      // BEGIN, a savepoint or COMMIT itself failed (I/O, quota): nothing of the group is kept.
      this.#rollback();
      return { kind: 'failed', error: e };
    }
  }

  /**
   * Runs the writes from `jobs[from]` on that share its batcher as one step, in a savepoint:
   * their outcomes, or undefined (rolled back) when the step threw or there is only one of
   * them, or 'lost' when it took the transaction with it.
   */
  #batch(jobs: readonly Job[], from: number): Outcome[] | 'lost' | undefined {
    const by = jobs[from]!.batch!.by;
    let to = from + 1;
    while (to < jobs.length && jobs[to]!.batch?.by === by) to++;
    if (to - from < 2) return undefined;
    const items = jobs.slice(from, to).map((j) => j.batch!.item);
    const db = this.#driver;
    db.run('SAVEPOINT batch');
    let values: unknown[];
    try {
      values = by.run(items);
      if (values.length !== items.length) throw new Error(`A batch of ${items.length} answered ${values.length}`);
    } catch (e) {
      if (this.#lost(this.#mapError(e))) return 'lost';
      db.run('ROLLBACK TO batch');
      db.run('RELEASE batch');
      return undefined;
    }
    db.run('RELEASE batch');
    return values.map((value) => ({ ok: true, value }));
  }

  #finish(jobs: readonly Job[], outcomes: readonly Outcome[]): void {
    for (let i = 0; i < jobs.length; i++) {
      const job = jobs[i]!;
      const outcome = outcomes[i]!;
      if (outcome.ok && job.committed) job.committed(outcome.value);
    }
    for (let i = 0; i < jobs.length; i++) settle(jobs[i]!, outcomes[i]!);
  }

  #inTransaction(): boolean {
    return this.#driver.inTransaction?.() ?? true;
  }

  /** True when the transaction is gone after a request failed with `error`. */
  #lost(error: unknown): boolean {
    const inTransaction = this.#driver.inTransaction;
    return inTransaction !== undefined ? !inTransaction.call(this.#driver) : this.#endsTransaction(error);
  }

  #rollback(): void {
    try {
      if (this.#inTransaction()) this.#driver.run('ROLLBACK');
    } catch {
      // Already gone.
    }
  }

  #enqueue(
    write: boolean,
    run: () => unknown,
    committed: ((r: unknown) => void) | undefined,
    alone = false,
    batch?: Job['batch'],
  ): Promise<never> {
    if (this.#closed) return Promise.reject(new StoreClosedError());
    return new Promise<never>((resolve, reject) => {
      const job: Job = { write, run, committed, resolve: resolve as (v: unknown) => void, reject };
      if (alone) job.alone = true;
      if (batch !== undefined) job.batch = batch;
      this.#jobs.push(job);
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
