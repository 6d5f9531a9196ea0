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
import { anySignal } from './signals.ts';
import type { CommitNotice } from '../core/engine.ts';
import type { Row, SqlValue } from '../core/driver.ts';
import { settleRun } from './follow.ts';
import type { Backend, Feed } from './store.ts';

/** In a notice's `tables`: any table may have changed. */
const ANY_TABLE = '*';

/** Options of `store.watch`. */
export interface WatchOptions {
  /** Aborting it closes the watch. */
  signal?: AbortSignal;
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
  const controller = new AbortController();
  const signals = [lifetime, controller.signal];
  if (options.signal !== undefined) signals.push(options.signal);
  const signal = anySignal(signals);
  let tables: Set<string> | undefined;
  const early = new Set<string>();
  let dirty = true;
  let wake: (() => void) | undefined;
  let closed = false;

  const stopListening = onCommit((notice) => {
    if (tables === undefined) {
      for (const t of notice.tables) early.add(t);
      return;
    }
    if (notice.tables.some((t) => t === ANY_TABLE || tables!.has(t))) {
      dirty = true;
      wake?.();
    }
  });
  const onAbort = (): void => wake?.();
  signal.addEventListener('abort', onAbort);

  async function run(): Promise<void> {
    while (!signal.aborted) {
      if (!dirty) {
        await new Promise<void>((resolve) => (wake = resolve));
        wake = undefined;
        continue;
      }
      dirty = false;
      const result = await backend.query(sql, [...params]);
      if (signal.aborted) return;
      if (tables === undefined) {
        tables = new Set(result.tables);
        if ([...early].some((t) => t === ANY_TABLE || tables!.has(t))) dirty = true;
        early.clear();
      }
      await callback(result.rows as T[]);
    }
  }

  const done = settleRun(run(), controller, lifetime, () => {
    closed = true;
    stopListening();
    signal.removeEventListener('abort', onAbort);
  });
  const close = (): void => controller.abort();
  return {
    close,
    unsubscribe: close,
    get closed() {
      return closed;
    },
    done,
  };
}
