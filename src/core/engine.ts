/**
 * The store engine: the event log behind a group-commit queue, over one synchronous SQL
 * connection. The worker serves it over RPC; in Node and at the edge it runs in-process.
 * Its methods take and return encoded forms (`records.ts`), which is what crosses a
 * worker boundary cheaply.
 *
 * Besides the log it keeps the projections (`projection.ts`) inside the append
 * transaction, durable consumers' checkpoints (`checkpoints.ts`), and it tells listeners
 * after each commit which streams, types and tables changed (`onCommit`).
 *
 * Interleavings handled:
 * - The tables a write touched are collected by the driver's row hook while that write
 *   runs (a drain is synchronous, so nothing else writes meanwhile) and kept only if it
 *   succeeded; a write rolled back to its savepoint contributes nothing.
 * - Notices of one drain are coalesced and sent in a microtask after its COMMIT, before
 *   any caller's promise settles, so a listener that reads sees the commit.
 */
import {
  advanceCheckpoint,
  listConsumers,
  discardDeadLetter,
  listDeadLetters,
  openCheckpoint,
  validateConsumerName,
  type ConsumerInfo,
  type ConsumerStart,
  type DeadLetter,
  type DeadLetterInput,
} from './checkpoints.ts';
import { CommitQueue, type Scheduler } from './commit-queue.ts';
import { decodeCursor } from './cursor.ts';
import type { QueryResult, SqlDriver, SqlValue } from './driver.ts';
import { checkEncodedAppend, validateStream } from './encode.ts';
import { CairnError, InternalError, InvalidArgumentError, QuotaExceededError, isStoreClosed } from './errors.ts';
import { appendEvents, headPosition, readBatch, readEventsById, readFiltered, readStreamEvents } from './event-log.ts';
import { DEFAULT_MAX_EVENT_BYTES, DEFAULT_PAGE_SIZE, DEFAULT_REBUILD_BATCH, MAX_PAGE_SIZE } from './limits.ts';
import { ProjectionRunner, type Projection, type ProjectionProgress } from './projection.ts';
import type { AppendRequest, StoredBatch, StoredEvent, StoredPage } from './records.ts';
import { migrate } from './schema.ts';
import { loadAggregate, saveSnapshot, type AggregateLoad } from './snapshots.ts';
import type { AppendResult, EventFilter, PageArgs, ReadStreamOptions } from './types.ts';
import type { Upcast } from './upcast.ts';

/** What one commit changed, for whoever follows the log. Only a wake-up hint: readers pull the events themselves. */
export interface CommitNotice {
  /** The newest position after the commit. */
  head: number;
  /** The streams appended to. */
  streams: string[];
  /** The event types appended. */
  types: string[];
  /**
   * The tables written (lower-cased): `events`, projection tables, Cairn's own bookkeeping.
   * `'*'` stands for every table, for a notice that cannot know (a resync after a handover).
   */
  tables: string[];
}

/** Options of `createEngine`. */
export interface EngineOptions {
  /** The largest data plus metadata of one event, in UTF-8 bytes. Default 1 MiB. */
  maxEventBytes?: number;
  /** How the commit queue defers a drain; defaults to the runtime's macrotask. */
  schedule?: Scheduler;
  /** The clock, in ms since the epoch. */
  now?: () => number;
  /** SQL read models kept inside the append transaction. */
  projections?: readonly Projection[];
  /** How many events one projection rebuild batch applies. Default 500. */
  rebuildBatchSize?: number;
  /** Brings events to their latest shape before projections see them (see `upcast.ts`). */
  upcast?: Upcast;
}

/** The engine's operations; this is also the API the worker serves. */
export interface Engine {
  append(req: AppendRequest): Promise<AppendResult>;
  appendMany(reqs: AppendRequest[]): Promise<AppendResult[]>;
  readStream(stream: string, options?: ReadStreamOptions): Promise<StoredEvent[]>;
  read(filter: EventFilter, page?: PageArgs): Promise<StoredPage>;
  /** Up to `limit` events matching `filter` after position `after`, with the head of the same snapshot. */
  readFrom(filter: EventFilter, after: number, limit: number): Promise<StoredBatch>;
  /** The newest position in the log. */
  head(): Promise<number>;
  /** Events by id, in the order asked; missing ids are left out. */
  readEvents(ids: string[]): Promise<StoredEvent[]>;
  /** A stream's snapshot for `revision` (null: do not look) and the events after it. */
  loadAggregate(stream: string, revision: number | null): Promise<AggregateLoad>;
  /** Stores a snapshot of a stream's state at `version`. */
  saveSnapshot(stream: string, revision: number, version: number, state: string): Promise<void>;
  /** Runs one read-only statement; READ_ONLY_QUERY if SQLite says it would write. */
  query(sql: string, params?: readonly SqlValue[]): Promise<QueryResult>;
  /** Returns a durable consumer's checkpoint, creating it at `start` if it has none. */
  openConsumer(name: string, start: ConsumerStart): Promise<number>;
  /** Moves a consumer's checkpoint forward, recording a dead letter in the same commit if one is given. */
  advanceConsumer(name: string, position: number, deadLetter?: DeadLetterInput): Promise<void>;
  /** Every durable consumer's checkpoint, lag and dead-letter count. */
  consumers(): Promise<ConsumerInfo[]>;
  /** The dead letters of one consumer, or of all. */
  deadLetters(consumer?: string): Promise<DeadLetter[]>;
  /** Removes a consumer's dead letter; true if there was one. */
  discardDeadLetter(consumer: string, position: number): Promise<boolean>;
  /** Where each projection stands. */
  projections(): Promise<ProjectionProgress[]>;
  /** Calls `listener` after every commit that changed something; returns an unsubscribe function. */
  onCommit(listener: (notice: CommitNotice) => void): () => void;
  /** Calls `listener` as projections are built from the log; returns an unsubscribe function. */
  onProjectionProgress(listener: (progress: ProjectionProgress) => void): () => void;
  /** Commits what is queued, then closes the connection. */
  close(): Promise<void>;
}

/** What a committed write adds to its drain's notice. */
interface NoticePart {
  head: number;
  streams?: readonly string[];
  types?: readonly string[];
}

const CONSUMER_TABLES = ['cairn_consumers', 'cairn_dead_letters'];

/** Opens an engine on a connection: migrates the schema, sets projections up and starts the commit queue. */
export function createEngine(driver: SqlDriver, options: EngineOptions = {}): Engine {
  migrate(driver);
  const projections = new ProjectionRunner(driver, options.projections ?? [], options.upcast);
  projections.prepare();
  const maxEventBytes = options.maxEventBytes ?? DEFAULT_MAX_EVENT_BYTES;
  const batchSize = options.rebuildBatchSize ?? DEFAULT_REBUILD_BATCH;
  if (!Number.isSafeInteger(batchSize) || batchSize < 1) throw new InvalidArgumentError('rebuildBatchSize must be an integer >= 1');
  const now = options.now ?? Date.now;
  const queueOptions: ConstructorParameters<typeof CommitQueue>[1] = { mapError: toCairnError };
  if (options.schedule) queueOptions.schedule = options.schedule;
  const queue = new CommitQueue(driver, queueOptions);
  const listeners = new Set<(notice: CommitNotice) => void>();
  const progressListeners = new Set<(progress: ProjectionProgress) => void>();
  let closed: Promise<void> | undefined;

  // The tables the running write touched, when the driver can tell.
  const touched = new Set<string>();
  const tracking = driver.onRowChange !== undefined;
  const stopTracking = driver.onRowChange?.((table) => touched.add(table));

  // Notices of one drain are coalesced into one, sent in a microtask after the commit.
  let pending: { head: number; streams: Set<string>; types: Set<string>; tables: Set<string> } | undefined;
  function noteCommitted(part: NoticePart, tables: readonly string[]): void {
    if (listeners.size === 0) return;
    if (pending === undefined) {
      pending = { head: 0, streams: new Set(), types: new Set(), tables: new Set() };
      queueMicrotask(() => {
        const p = pending!;
        pending = undefined;
        const notice = { head: p.head, streams: [...p.streams], types: [...p.types], tables: [...p.tables] };
        for (const listener of listeners) listener(notice);
      });
    }
    pending.head = Math.max(pending.head, part.head);
    for (const s of part.streams ?? []) pending.streams.add(s);
    for (const t of part.types ?? []) pending.types.add(t);
    for (const t of tables) pending.tables.add(t);
  }

  /** Queues a write; its notice names the tables it touched (or `fallback`'s, if the driver cannot tell). */
  function write<T>(run: () => T, describe: (result: T) => NoticePart, fallback: () => readonly string[]): Promise<T> {
    let tables: readonly string[] = [];
    return queue.write(
      () => {
        touched.clear();
        const result = run();
        tables = tracking ? [...touched] : fallback();
        return result;
      },
      (result) => noteCommitted(describe(result), tables),
    );
  }

  function appendOne(req: AppendRequest, at: number): AppendResult {
    const inserted: StoredEvent[] = [];
    const result = appendEvents(driver, req, at, inserted);
    projections.apply(inserted);
    return result;
  }

  const appendTables = (): string[] => ['events', 'cairn_projections', ...projections.readyTables()];
  const describeAppend = (req: AppendRequest, result: AppendResult): NoticePart => ({
    head: result.position,
    streams: [req.stream],
    types: req.events.map((e) => e.type),
  });

  // Projections behind the log are built one batch (one queued write) at a time.
  async function rebuild(): Promise<void> {
    for (const name of projections.building()) {
      for (;;) {
        let progress: ProjectionProgress;
        try {
          progress = await write(
            () => projections.rebuildBatch(name, batchSize),
            (p) => ({ head: p.head }),
            () => ['cairn_projections', ...projections.tablesOf(name)],
          );
        } catch (e) {
          if (closed !== undefined || isStoreClosed(e)) return;
          const message = e instanceof Error ? e.message : String(e);
          try {
            progress = await write(
              () => {
                // The batch's transaction is gone: the database, not memory, says where the projection is.
                projections.reload(name);
                return projections.markFailed(name, message);
              },
              (p) => ({ head: p.head }),
              () => ['cairn_projections'],
            );
          } catch {
            return;
          }
        }
        for (const listener of progressListeners) listener(progress);
        if (progress.state !== 'building') break;
      }
    }
  }
  if (projections.any) void rebuild();

  return {
    async append(req) {
      checkEncodedAppend(req, maxEventBytes);
      return write(() => appendOne(req, now()), (result) => describeAppend(req, result), appendTables);
    },
    async appendMany(reqs) {
      if (!Array.isArray(reqs) || reqs.length === 0) {
        throw new InvalidArgumentError('appendMany needs a non-empty array of appends');
      }
      for (const req of reqs) checkEncodedAppend(req, maxEventBytes);
      return write(
        () => {
          const at = now();
          return reqs.map((req) => appendOne(req, at));
        },
        (results) => ({
          head: Math.max(...results.map((r) => r.position)),
          streams: reqs.map((r) => r.stream),
          types: reqs.flatMap((r) => r.events.map((e) => e.type)),
        }),
        appendTables,
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
    async readFrom(filter, after, limit) {
      if (filter.stream !== undefined) validateStream(filter.stream);
      if (!Number.isSafeInteger(after) || after < 0) throw new InvalidArgumentError('after must be a position >= 0');
      if (!Number.isSafeInteger(limit) || limit < 1 || limit > MAX_PAGE_SIZE) {
        throw new InvalidArgumentError(`limit must be an integer from 1 to ${MAX_PAGE_SIZE}`);
      }
      return queue.read(() => readBatch(driver, filter, after, limit));
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
      await write(
        () => saveSnapshot(driver, stream, revision, version, state, now()),
        () => ({ head: headPosition(driver) }),
        () => ['snapshots'],
      );
    },
    async query(sql, params = []) {
      const query = driver.query;
      if (query === undefined) throw new InternalError("This store's SQL driver cannot run read-only queries");
      const values = checkParams(params);
      return queue.read(() => query.call<SqlDriver, [string, SqlValue[]], QueryResult>(driver, sql, values));
    },
    async openConsumer(name, start) {
      return write(
        () => openCheckpoint(driver, name, start, now()),
        () => ({ head: headPosition(driver) }),
        () => CONSUMER_TABLES,
      );
    },
    async advanceConsumer(name, position, deadLetter) {
      await write(
        () => advanceCheckpoint(driver, name, position, deadLetter, now()),
        () => ({ head: headPosition(driver) }),
        () => CONSUMER_TABLES,
      );
    },
    consumers() {
      return queue.read(() => listConsumers(driver));
    },
    async deadLetters(consumer) {
      if (consumer !== undefined) validateConsumerName(consumer);
      return queue.read(() => listDeadLetters(driver, consumer));
    },
    async discardDeadLetter(consumer, position) {
      return write(
        () => discardDeadLetter(driver, consumer, position),
        () => ({ head: headPosition(driver) }),
        () => CONSUMER_TABLES,
      );
    },
    projections() {
      return queue.read(() => projections.status());
    },
    onCommit(listener) {
      listeners.add(listener);
      return () => listeners.delete(listener);
    },
    onProjectionProgress(listener) {
      progressListeners.add(listener);
      return () => progressListeners.delete(listener);
    },
    close() {
      closed ??= Promise.resolve().then(() => {
        queue.close();
        stopTracking?.();
        driver.close();
      });
      return closed;
    },
  };
}

/** Checks query parameters: SQL values, with booleans as 1 and 0. */
function checkParams(params: unknown): SqlValue[] {
  if (!Array.isArray(params)) throw new InvalidArgumentError('Query parameters must be an array');
  return params.map((p: unknown, i) => {
    if (typeof p === 'boolean') return p ? 1 : 0;
    if (p === null || typeof p === 'string' || typeof p === 'bigint' || p instanceof Uint8Array) return p;
    if (typeof p === 'number' && Number.isFinite(p)) return p;
    throw new InvalidArgumentError(`Query parameter ${i} is not a SQL value: ${String(p)}`);
  });
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
