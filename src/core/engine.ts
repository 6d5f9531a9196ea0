/**
 * The store engine: the event log behind a group-commit queue, over one synchronous SQL
 * connection. The worker serves it over RPC; in Node and at the edge it runs in-process.
 * Its methods take and return encoded forms (`records.ts`), which is what crosses a
 * worker boundary cheaply.
 */
import { CommitQueue, type Scheduler } from './commit-queue.ts';
import { decodeCursor } from './cursor.ts';
import type { SqlDriver } from './driver.ts';
import { checkEncodedAppend, validateStream } from './encode.ts';
import { CairnError, InternalError, InvalidArgumentError, QuotaExceededError } from './errors.ts';
import { appendEvents, headPosition, readEventsById, readFiltered, readStreamEvents } from './event-log.ts';
import { DEFAULT_MAX_EVENT_BYTES, DEFAULT_PAGE_SIZE, MAX_PAGE_SIZE } from './limits.ts';
import type { AppendRequest, StoredEvent, StoredPage } from './records.ts';
import { migrate } from './schema.ts';
import { loadAggregate, saveSnapshot, type AggregateLoad } from './snapshots.ts';
import type { AppendResult, EventFilter, PageArgs, ReadStreamOptions } from './types.ts';

/** What one commit changed, for whoever follows the log. */
export interface CommitNotice {
  /** The newest position after the commit. */
  head: number;
  streams: string[];
  types: string[];
}

/** Options of `createEngine`. */
export interface EngineOptions {
  /** The largest data plus metadata of one event, in UTF-8 bytes. Default 1 MiB. */
  maxEventBytes?: number;
  /** How the commit queue defers a drain; defaults to the runtime's macrotask. */
  schedule?: Scheduler;
  /** The clock, in ms since the epoch. */
  now?: () => number;
}

/** The engine's operations; this is also the API the worker serves. */
export interface Engine {
  append(req: AppendRequest): Promise<AppendResult>;
  appendMany(reqs: AppendRequest[]): Promise<AppendResult[]>;
  readStream(stream: string, options?: ReadStreamOptions): Promise<StoredEvent[]>;
  read(filter: EventFilter, page?: PageArgs): Promise<StoredPage>;
  /** The newest position in the log. */
  head(): Promise<number>;
  /** Events by id, in the order asked; missing ids are left out. */
  readEvents(ids: string[]): Promise<StoredEvent[]>;
  /** A stream's snapshot for `revision` (null: do not look) and the events after it. */
  loadAggregate(stream: string, revision: number | null): Promise<AggregateLoad>;
  /** Stores a snapshot of a stream's state at `version`. */
  saveSnapshot(stream: string, revision: number, version: number, state: string): Promise<void>;
  /** Calls `listener` after every commit that appended events; returns an unsubscribe function. */
  onCommit(listener: (notice: CommitNotice) => void): () => void;
  /** Commits what is queued, then closes the connection. */
  close(): Promise<void>;
}

/** Opens an engine on a connection: migrates the schema and starts the commit queue. */
export function createEngine(driver: SqlDriver, options: EngineOptions = {}): Engine {
  migrate(driver);
  const maxEventBytes = options.maxEventBytes ?? DEFAULT_MAX_EVENT_BYTES;
  const now = options.now ?? Date.now;
  const queueOptions: ConstructorParameters<typeof CommitQueue>[1] = { mapError: toCairnError };
  if (options.schedule) queueOptions.schedule = options.schedule;
  const queue = new CommitQueue(driver, queueOptions);
  const listeners = new Set<(notice: CommitNotice) => void>();
  let closed: Promise<void> | undefined;

  // Notices of one drain are coalesced into one, sent in a microtask after the commit.
  let pending: { head: number; streams: Set<string>; types: Set<string> } | undefined;
  function noteCommitted(req: AppendRequest, result: AppendResult): void {
    if (listeners.size === 0) return;
    if (pending === undefined) {
      pending = { head: 0, streams: new Set(), types: new Set() };
      queueMicrotask(() => {
        const p = pending!;
        pending = undefined;
        const notice = { head: p.head, streams: [...p.streams], types: [...p.types] };
        for (const listener of listeners) listener(notice);
      });
    }
    pending.head = Math.max(pending.head, result.position);
    pending.streams.add(req.stream);
    for (const e of req.events) pending.types.add(e.type);
  }

  return {
    async append(req) {
      checkEncodedAppend(req, maxEventBytes);
      return queue.write(
        () => appendEvents(driver, req, now()),
        (result) => noteCommitted(req, result),
      );
    },
    async appendMany(reqs) {
      if (!Array.isArray(reqs) || reqs.length === 0) {
        throw new InvalidArgumentError('appendMany needs a non-empty array of appends');
      }
      for (const req of reqs) checkEncodedAppend(req, maxEventBytes);
      return queue.write(
        () => {
          const at = now();
          return reqs.map((req) => appendEvents(driver, req, at));
        },
        (results) => results.forEach((r, i) => noteCommitted(reqs[i]!, r)),
      );
    },
    async readStream(stream, opts = {}) {
      validateStream(stream);
      const limit = opts.limit ?? -1;
      if (!(limit === -1 || (Number.isSafeInteger(limit) && limit >= 0))) {
        throw new InvalidArgumentError('limit must be a non-negative integer');
      }
      const backward = opts.direction === 'backward';
      return queue.read(() => readStreamEvents(driver, stream, opts.fromVersion, backward, limit));
    },
    async read(filter, page = {}) {
      const plan = planPage(filter, page);
      return queue.read(() => {
        const rows = readFiltered(driver, filter, plan.boundary, plan.backward, plan.size + 1);
        const more = rows.length > plan.size;
        if (more) rows.pop();
        // Is there anything on the other side of the cursor we started from?
        const behind =
          plan.fromCursor &&
          readFiltered(driver, filter, plan.backward ? plan.boundary - 1 : plan.boundary + 1, !plan.backward, 1)
            .length > 0;
        if (plan.backward) rows.reverse();
        return plan.backward
          ? { events: rows, hasPreviousPage: more, hasNextPage: behind }
          : { events: rows, hasNextPage: more, hasPreviousPage: behind };
      });
    },
    head() {
      return queue.read(() => headPosition(driver));
    },
    async readEvents(ids) {
      if (!Array.isArray(ids) || ids.some((id) => typeof id !== 'string')) {
        throw new InvalidArgumentError('readEvents takes an array of event ids');
      }
      return queue.read(() => readEventsById(driver, ids));
    },
    async loadAggregate(stream, revision) {
      validateStream(stream);
      return queue.read(() => loadAggregate(driver, stream, revision));
    },
    async saveSnapshot(stream, revision, version, state) {
      validateStream(stream);
      return queue.write(() => saveSnapshot(driver, stream, revision, version, state, now()));
    },
    onCommit(listener) {
      listeners.add(listener);
      return () => listeners.delete(listener);
    },
    close() {
      closed ??= Promise.resolve().then(() => {
        queue.close();
        driver.close();
      });
      return closed;
    },
  };
}

interface PagePlan {
  backward: boolean;
  boundary: number;
  size: number;
  fromCursor: boolean;
}

function planPage(filter: EventFilter, page: PageArgs): PagePlan {
  if (filter.stream !== undefined) validateStream(filter.stream);
  if (page.first !== undefined && page.last !== undefined) {
    throw new InvalidArgumentError('Give either first or last, not both');
  }
  const backward = page.last !== undefined || (page.before !== undefined && page.first === undefined);
  if (backward && page.after !== undefined) throw new InvalidArgumentError('after pages forward; use it with first');
  if (!backward && page.before !== undefined) throw new InvalidArgumentError('before pages backward; use it with last');
  const size = (backward ? page.last : page.first) ?? DEFAULT_PAGE_SIZE;
  if (!Number.isSafeInteger(size) || size < 0 || size > MAX_PAGE_SIZE) {
    throw new InvalidArgumentError(`A page size must be an integer from 0 to ${MAX_PAGE_SIZE}, got ${size}`);
  }
  const cursor = backward ? page.before : page.after;
  const boundary = cursor !== undefined ? decodeCursor(cursor) : backward ? Number.MAX_SAFE_INTEGER : 0;
  return {
    backward,
    size,
    boundary,
    // Nothing lies before position 0, so a forward read from there needs no look behind.
    fromCursor: cursor !== undefined && (backward || boundary > 0),
  };
}

/** Maps whatever a driver threw to a CairnError; SQLITE_FULL is a quota failure. */
export function toCairnError(e: unknown): CairnError {
  if (e instanceof CairnError) return e;
  const message = e instanceof Error ? e.message : String(e);
  const code = (e as { resultCode?: unknown }).resultCode;
  if (code === 13 || /SQLITE_FULL|database or disk is full|quota/i.test(message)) {
    return new QuotaExceededError(`Storage is full: ${message}`, { cause: e });
  }
  return new InternalError(message, { cause: e });
}
