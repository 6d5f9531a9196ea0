/**
 * `store.watch`: a live query. Runs a read-only query, hands its rows to a callback, and
 * runs it again after every commit that wrote a table the query reads.
 *
 * Which tables a query reads is what SQLite's authorizer reported when the statement was
 * prepared (views count as the tables under them); which tables a commit wrote is what
 * SQLite's row hook reported while it ran, carried by the commit notice. The callback is
 * never called for a commit that touched none of them.
 *
 * Interleavings handled:
 * - Notices that arrive while the first run is in flight are kept until its tables are
 *   known, then checked; a relevant one runs the query again (it may have committed after
 *   the first run's snapshot).
 * - Notices that arrive while a later run is in flight mark the watch dirty: one more run
 *   follows, however many commits came in the meantime. Runs and callbacks never overlap.
 */
import type { CommitNotice } from '../core/engine.ts';
import type { Row, SqlValue } from '../core/driver.ts';
import { InvalidArgumentError } from '../core/errors.ts';
import { ANY_TABLE } from '../core/notices.ts';
import { startRunner } from './runner.ts';
import type { Backend, Feed } from './ports.ts';

/** Options of `store.watch`. */
export interface WatchOptions {
  /** Aborting it closes the watch. */
  signal?: AbortSignal;
  /** Each run's time budget, in ms (the store's `queryTimeout` by default): past it the watch ends with QUERY_TIMEOUT. */
  timeoutMs?: number;
}

/** A live query. */
export interface Watch {
  /** Stops it; no callback follows. */
  close(): void;
  /** The same as `close`, as a function to hand around. */
  readonly unsubscribe: () => void;
  /** True once it has stopped. */
  readonly closed: boolean;
  /** Resolves when it stops after `close`, an abort or the store closing; rejects if the query or the callback threw. */
  readonly done: Promise<void>;
}

/** Starts a watch; `lifetime` is the store's. */
export function watch<T = Row>(
  backend: Backend,
  onCommit: Feed<CommitNotice>,
  lifetime: AbortSignal,
  sql: string,
  params: readonly SqlValue[],
  callback: (rows: T[]) => unknown,
  options: WatchOptions = {},
): Watch {
  if (typeof callback !== 'function') throw new InvalidArgumentError('watch needs a callback function');
  const live = new LiveQuery<T>(backend, sql, [...params], callback, options.timeoutMs);
  const stopListening = onCommit((notice) => live.notice(notice.tables));
  let closed = false;
  const runner = startRunner(lifetime, options.signal, (signal) => live.run(signal), () => {
    closed = true;
    stopListening();
  });
  return {
    close: runner.stop,
    unsubscribe: runner.stop,
    get closed() {
      return closed;
    },
    done: runner.done,
  };
}

/** The loop of one watch: run, call back, wait until a relevant commit, run again. */
class LiveQuery<T> {
  readonly #backend: Backend;
  readonly #sql: string;
  readonly #params: SqlValue[];
  readonly #callback: (rows: T[]) => unknown;
  readonly #options: { timeoutMs?: number };
  /** The tables the query reads, known after its first run. */
  #tables: Set<string> | undefined;
  /** Tables named by notices that came before the first run answered. */
  readonly #early = new Set<string>();
  #dirty = true;
  #wake: (() => void) | undefined;

  constructor(backend: Backend, sql: string, params: SqlValue[], callback: (rows: T[]) => unknown, timeoutMs: number | undefined) {
    this.#backend = backend;
    this.#sql = sql;
    this.#params = params;
    this.#callback = callback;
    this.#options = timeoutMs === undefined ? {} : { timeoutMs };
  }

  /** A commit wrote `tables`: run again if the query reads any of them. */
  notice(tables: readonly string[]): void {
    if (this.#tables === undefined) {
      for (const t of tables) this.#early.add(t);
      return;
    }
    if (this.#touches(tables)) {
      this.#dirty = true;
      this.#wake?.();
    }
  }

  async run(signal: AbortSignal): Promise<void> {
    const onAbort = (): void => this.#wake?.();
    signal.addEventListener('abort', onAbort);
    try {
      while (!signal.aborted) {
        if (!this.#dirty) {
          await new Promise<void>((resolve) => (this.#wake = resolve));
          this.#wake = undefined;
          continue;
        }
        this.#dirty = false;
        const result = await this.#backend.query(this.#sql, this.#params, this.#options);
        if (signal.aborted) return;
        if (this.#tables === undefined) {
          this.#tables = new Set(result.tables);
          if (this.#touches([...this.#early])) this.#dirty = true;
          this.#early.clear();
        }
        await this.#callback(result.rows as T[]);
      }
    } finally {
      signal.removeEventListener('abort', onAbort);
    }
  }

  #touches(tables: readonly string[]): boolean {
    return tables.some((t) => t === ANY_TABLE || this.#tables!.has(t));
  }
}
