/**
 * The store engine: the event log behind a group-commit queue, over one synchronous SQL
 * connection. The worker serves it over RPC; in Node and at the edge it runs in-process.
 * Its methods take and return encoded forms (`records.ts`), which is what crosses a
 * worker boundary cheaply.
 *
 * The engine is a trust boundary: every argument is checked again here (`validate.ts`),
 * whoever sent it, since a worker's inbox is open to any script of the origin.
 *
 * Besides the log it keeps the projections (`projection.ts`) inside the append
 * transaction, durable consumers' checkpoints (`checkpoints.ts`), and it tells listeners
 * after each commit which streams, types and tables changed (`notices.ts`).
 *
 * Interleavings handled:
 * - The tables a write touched are collected by the driver's row hook while that write
 *   runs (a drain is synchronous, so nothing else writes meanwhile) and kept only if it
 *   succeeded; a write rolled back to its savepoint contributes nothing.
 * - A transaction SQLite rolled back by itself (a full disk, an I/O error) is retried by
 *   the commit queue without the request that hit it; the projections' state in memory is
 *   read back from the database first.
 */
import {
  advanceCheckpoint,
  discardDeadLetter,
  listConsumers,
  listDeadLetters,
  openCheckpoint,
  type ConsumerInfo,
  type ConsumerStart,
  type DeadLetter,
  type DeadLetterInput,
} from './checkpoints.ts';
import { CommitQueue, type Batcher } from './commit-queue.ts';
import type { QueryOptions, QueryResult, SqlDriver, SqlValue } from './driver.ts';
import { InternalError, InvalidArgumentError } from './errors.ts';
import {
  appendEvents,
  appendEventsBatch,
  headPosition,
  readBatch,
  readEventsById,
  readStreamEvents,
  streamVersion,
  type RemoteEvent,
} from './event-log.ts';
import { DEFAULT_MAX_EVENT_BYTES, DEFAULT_QUERY_TIMEOUT, DEFAULT_REBUILD_BATCH, MAX_EVENT_BYTES_LIMIT, MAX_PAGE_SIZE } from './limits.ts';
import { CommitNotices, type CommitNotice, type NoticePart } from './notices.ts';
import { planPage, readPage } from './paging.ts';
import { ProjectionRunner, type Projection, type ProjectionProgress } from './projection.ts';
import { checkQueryParams, validateTimeout } from './query-params.ts';
import type { AppendRequest, StoredBatch, StoredEvent, StoredPage } from './records.ts';
import { LocalSync, type PullOutcome } from './reconcile.ts';
import { rebuildProjections } from './rebuild.ts';
import { migrate } from './schema.ts';
import { loadAggregate, saveSnapshot, type AggregateLoad } from './snapshots.ts';
import { endsTransaction, toCairnError } from './sql-errors.ts';
import {
  readConflicts,
  readOutbox,
  removeConflict,
  syncState,
  toRequest,
  type OutboxAppend,
  type OutboxCommand,
  type Refusal,
  type StoredConflict,
  type SyncLocalState,
} from './sync-log.ts';
import type { AppendResult, EventFilter, PageArgs, ReadStreamOptions, SyncFilter } from './types.ts';
import type { Upcast } from './upcast.ts';
import {
  validateConsumerName,
  validateDistinctIds,
  validateEncodedAppend,
  validateSyncFilter,
  validateFilter,
  validatePosition,
  validateReadStreamOptions,
  validateStream,
} from './validate.ts';
import type { Scheduler } from './commit-queue.ts';
import type { WriteRecorder } from './write-recorder.ts';
import { importEvents, validateImport, type ImportedEvent, type ImportResult } from './import-events.ts';

export type { CommitNotice } from './notices.ts';

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
  /** The time budget of `query` when a call gives none, in ms. Default 5000. */
  queryTimeout?: number;
  /**
   * Where the database is in memory and kept durable elsewhere (IndexedDB): records each
   * write and makes each commit durable before it is acknowledged. It also tells which
   * tables each write touched, so the driver's own row hook is not used alongside it.
   */
  recorder?: WriteRecorder;
}

/** The engine's operations; this is also the API the worker serves. */
export interface Engine {
  /** Appends to one stream; `command` is what an aggregate decided it from, kept for sync to decide it again. */
  append(req: AppendRequest, command?: OutboxCommand): Promise<AppendResult>;
  appendMany(reqs: AppendRequest[], command?: OutboxCommand): Promise<AppendResult[]>;
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
  /** Runs one read-only statement; READ_ONLY_QUERY if SQLite says it would write, QUERY_TIMEOUT past its budget. */
  query(sql: string, params?: readonly SqlValue[], options?: QueryOptions): Promise<QueryResult>;
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
  /** Imports recorded events (one batch, one write), skipping those already stored under their id (`import-events.ts`). */
  importEvents(events: ImportedEvent[]): Promise<ImportResult>;
  /** The whole database as a SQLite file, taken between two commits: a consistent state. */
  backup(): Promise<Uint8Array>;
  /** Calls `listener` after every commit that changed something; returns an unsubscribe function. */
  onCommit(listener: (notice: CommitNotice) => void): () => void;
  /** Calls `listener` as projections are built from the log; returns an unsubscribe function. */
  onProjectionProgress(listener: (progress: ProjectionProgress) => void): () => void;
  /** Starts (or goes on) syncing the streams of `filter`; returns the device's sync state. */
  syncOpen(filter: SyncFilter): Promise<SyncLocalState>;
  /** The device's sync state. */
  syncState(): Promise<SyncLocalState>;
  /** Up to `limit` local writes still to push, oldest first. */
  outbox(limit: number): Promise<{ seq: number; appends: OutboxAppend[] }[]>;
  /** Records the server's answers to a push. */
  outboxPushed(outcomes: { seq: number; refusal: Refusal | null }[]): Promise<void>;
  /** Applies one page of the server's events, then keeps the cursor after them. */
  applyPulled(events: RemoteEvent[], cursor: string): Promise<PullOutcome>;
  /** The local writes the server refused, with the server's events of their stream. */
  conflicts(): Promise<ConflictRecord[]>;
  /** Resolves a conflict: `rebase` appends its events again after the server's, `discard` drops them. */
  resolveConflict(id: number, resolution: 'rebase' | 'discard'): Promise<AppendResult[]>;
  /** Commits what is queued, then closes the connection. */
  close(): Promise<void>;
}

/** A conflict as `conflicts()` reports it. */
export interface ConflictRecord extends StoredConflict {
  /** The server's events of the stream that the write did not expect (after its expected version). */
  serverEvents: StoredEvent[];
}

/** Opens an engine on a connection: migrates the schema, sets projections up and starts the commit queue. */
export function createEngine(driver: SqlDriver, options: EngineOptions = {}): Engine {
  return new SqlEngine(driver, options);
}

const CONSUMER_TABLES = ['cairn_consumers', 'cairn_dead_letters'];
/** The most ids one `readEvents` call may ask for. */
const MAX_READ_IDS = MAX_PAGE_SIZE;

class SqlEngine implements Engine {
  readonly #driver: SqlDriver;
  readonly #projections: ProjectionRunner;
  readonly #queue: CommitQueue;
  readonly #notices = new CommitNotices();
  readonly #progressListeners = new Set<(progress: ProjectionProgress) => void>();
  readonly #maxEventBytes: number;
  readonly #batchSize: number;
  readonly #queryTimeout: number;
  readonly #now: () => number;
  /** The tables the running write touched, when the driver can tell. */
  readonly #touched = new Set<string>();
  readonly #stopTracking: (() => void) | undefined;
  readonly #sync: LocalSync;
  #rebuilding = false;
  readonly #recorder: WriteRecorder | undefined;
  /** Runs the single appends queued next to each other as one insert (see `#appendAll`). */
  readonly #appends: Batcher<AppendRequest, Tracked<AppendResult>> = { run: (reqs) => this.#appendAll(reqs) };
  #closed: Promise<void> | undefined;

  constructor(driver: SqlDriver, options: EngineOptions) {
    this.#maxEventBytes = checkLimit(options.maxEventBytes ?? DEFAULT_MAX_EVENT_BYTES, 'maxEventBytes', MAX_EVENT_BYTES_LIMIT);
    this.#batchSize = checkLimit(options.rebuildBatchSize ?? DEFAULT_REBUILD_BATCH, 'rebuildBatchSize', MAX_PAGE_SIZE);
    this.#queryTimeout = validateTimeout(options.queryTimeout, 'queryTimeout') ?? DEFAULT_QUERY_TIMEOUT;
    this.#now = options.now ?? Date.now;
    this.#driver = driver;
    this.#recorder = options.recorder;
    migrate(driver);
    this.#projections = new ProjectionRunner(driver, options.projections ?? [], options.upcast);
    this.#projections.prepare();
    this.#queue = new CommitQueue(driver, {
      mapError: toCairnError,
      onTransactionLost: () => {
        this.#recorder?.discard();
        this.#projections.reloadAll();
        this.#sync.reload();
      },
      onCommitted: (ms) => this.#notices.timed(ms),
      ...(this.#recorder ? { afterCommit: () => this.#recorder!.commit() } : {}),
      endsTransaction: (e) => endsTransaction((e as { cause?: unknown }).cause ?? e),
      ...(options.schedule ? { schedule: options.schedule } : {}),
    });
    // A recorder reports the tables itself (it owns SQLite's pre-update hook, see sqlite-wasm-changes.ts).
    this.#stopTracking = this.#recorder ? undefined : driver.onRowChange?.((table) => this.#touched.add(table));
    this.#sync = new LocalSync(driver, this.#projections);
    if (this.#projections.any) this.#startRebuild();
  }

  async append(req: AppendRequest, command?: OutboxCommand): Promise<AppendResult> {
    validateEncodedAppend(req, this.#maxEventBytes);
    const origin = validateCommand(command);
    const alone = (): Tracked<AppendResult> => this.#tracked(() => this.#localWrite([req], origin)[0]!, () => this.#appendTables());
    const done = await this.#queue.writeBatched(this.#appends, req, alone, (d) =>
      this.#noted({ head: d.value.position, streams: [req.stream], types: req.events.map((e) => e.type) }, d),
    );
    return done.value;
  }

  async appendMany(reqs: AppendRequest[], command?: OutboxCommand): Promise<AppendResult[]> {
    if (!Array.isArray(reqs) || reqs.length === 0) {
      throw new InvalidArgumentError('appendMany needs a non-empty array of appends');
    }
    for (const req of reqs) validateEncodedAppend(req, this.#maxEventBytes);
    validateDistinctIds(reqs);
    const origin = validateCommand(command);
    return this.#write(
      () => this.#localWrite(reqs, origin),
      (results) => describeAppends(reqs, results),
      () => this.#appendTables(),
    );
  }

  async readStream(stream: string, options?: ReadStreamOptions): Promise<StoredEvent[]> {
    validateStream(stream);
    const { fromVersion, backward, limit } = validateReadStreamOptions(options);
    return this.#queue.read(() => readStreamEvents(this.#driver, stream, fromVersion, backward, limit));
  }

  async read(filter: EventFilter, page: PageArgs = {}): Promise<StoredPage> {
    const checked = validateFilter(filter);
    if (typeof page !== 'object' || page === null) throw new InvalidArgumentError('Paging arguments must be an object');
    const plan = planPage(page);
    return this.#queue.read(() => readPage(this.#driver, checked, plan));
  }

  async readFrom(filter: EventFilter, after: number, limit: number): Promise<StoredBatch> {
    const checked = validateFilter(filter);
    validatePosition(after, 'after');
    if (!Number.isSafeInteger(limit) || limit < 1 || limit > MAX_PAGE_SIZE) {
      throw new InvalidArgumentError(`limit must be an integer from 1 to ${MAX_PAGE_SIZE}`);
    }
    return this.#queue.read(() => readBatch(this.#driver, checked, after, limit));
  }

  head(): Promise<number> {
    return this.#queue.read(() => headPosition(this.#driver));
  }

  async readEvents(ids: string[]): Promise<StoredEvent[]> {
    if (!Array.isArray(ids) || ids.length > MAX_READ_IDS || ids.some((id) => typeof id !== 'string')) {
      throw new InvalidArgumentError(`readEvents takes an array of at most ${MAX_READ_IDS} event ids`);
    }
    return this.#queue.read(() => readEventsById(this.#driver, ids));
  }

  async loadAggregate(stream: string, revision: number | null): Promise<AggregateLoad> {
    validateStream(stream);
    if (revision !== null && !Number.isSafeInteger(revision)) throw new InvalidArgumentError('revision must be an integer or null');
    return this.#queue.read(() => loadAggregate(this.#driver, stream, revision));
  }

  async saveSnapshot(stream: string, revision: number, version: number, state: string): Promise<void> {
    validateStream(stream);
    await this.#write(
      () => saveSnapshot(this.#driver, stream, revision, version, state, this.#now()),
      () => ({ head: headPosition(this.#driver) }),
      () => ['snapshots'],
    );
  }

  async query(sql: string, params: readonly SqlValue[] = [], options: QueryOptions = {}): Promise<QueryResult> {
    const query = this.#driver.query;
    if (query === undefined) throw new InternalError("This store's SQL driver cannot run read-only queries");
    if (typeof sql !== 'string') throw new InvalidArgumentError('store.query needs SQL text');
    const values = checkQueryParams(params);
    if (typeof options !== 'object' || options === null) throw new InvalidArgumentError('Query options must be an object');
    const timeoutMs = validateTimeout(options.timeoutMs, 'timeoutMs') ?? this.#queryTimeout;
    return this.#queue.read(() => query.call<SqlDriver, [string, SqlValue[], QueryOptions], QueryResult>(this.#driver, sql, values, { timeoutMs }));
  }

  async openConsumer(name: string, start: ConsumerStart): Promise<number> {
    validateConsumerName(name);
    return this.#write(
      () => openCheckpoint(this.#driver, name, start, this.#now()),
      () => ({ head: headPosition(this.#driver) }),
      () => CONSUMER_TABLES,
    );
  }

  async advanceConsumer(name: string, position: number, deadLetter?: DeadLetterInput): Promise<void> {
    validateConsumerName(name);
    validatePosition(position, 'A checkpoint');
    await this.#write(
      () => advanceCheckpoint(this.#driver, name, position, deadLetter, this.#now()),
      () => ({ head: headPosition(this.#driver) }),
      () => CONSUMER_TABLES,
    );
  }

  consumers(): Promise<ConsumerInfo[]> {
    return this.#queue.read(() => listConsumers(this.#driver));
  }

  async deadLetters(consumer?: string): Promise<DeadLetter[]> {
    if (consumer !== undefined) validateConsumerName(consumer);
    return this.#queue.read(() => listDeadLetters(this.#driver, consumer));
  }

  async discardDeadLetter(consumer: string, position: number): Promise<boolean> {
    validateConsumerName(consumer);
    validatePosition(position, 'A dead letter position');
    return this.#write(
      () => discardDeadLetter(this.#driver, consumer, position),
      () => ({ head: headPosition(this.#driver) }),
      () => CONSUMER_TABLES,
    );
  }

  projections(): Promise<ProjectionProgress[]> {
    return this.#queue.read(() => this.#projections.status());
  }

  async importEvents(events: ImportedEvent[]): Promise<ImportResult> {
    validateImport(events, this.#maxEventBytes);
    return this.#write(
      () => {
        // A synced stream's events come from the server, at the server's versions: an
        // import would put events there that neither the outbox nor the server knows of.
        const synced = events.find((e) => this.#sync.covers(e.stream));
        if (synced !== undefined) {
          throw new InvalidArgumentError(`Stream "${synced.stream}" syncs with a server: import into a store that does not sync it, and let sync bring it here`);
        }
        const inserted: StoredEvent[] = [];
        const result = importEvents(this.#driver, events, inserted);
        this.#projections.apply(inserted);
        return result;
      },
      () => ({ head: headPosition(this.#driver), streams: events.map((e) => e.stream), types: events.map((e) => e.type) }),
      () => this.#appendTables(),
    );
  }

  async backup(): Promise<Uint8Array> {
    const serialize = this.#driver.serialize;
    if (serialize === undefined) throw new InternalError("This store's SQL driver cannot copy its database");
    return this.#queue.readCommitted(() => serialize.call(this.#driver));
  }

  onCommit(listener: (notice: CommitNotice) => void): () => void {
    return this.#notices.listen(listener);
  }

  onProjectionProgress(listener: (progress: ProjectionProgress) => void): () => void {
    this.#progressListeners.add(listener);
    return () => void this.#progressListeners.delete(listener);
  }

  async syncOpen(filter: SyncFilter): Promise<SyncLocalState> {
    const checked = validateSyncFilter(filter);
    return this.#write(
      () => {
        this.#sync.open(checked);
        return syncState(this.#driver);
      },
      () => ({ head: headPosition(this.#driver) }),
      () => ['cairn_meta'],
    );
  }

  syncState(): Promise<SyncLocalState> {
    return this.#queue.read(() => syncState(this.#driver));
  }

  async outbox(limit: number): Promise<{ seq: number; appends: OutboxAppend[] }[]> {
    if (!Number.isSafeInteger(limit) || limit < 1) throw new InvalidArgumentError('limit must be an integer >= 1');
    return this.#queue.read(() =>
      readOutbox(this.#driver, true, limit).map((e) => ({ seq: e.seq, appends: e.appends.filter((a) => a.local !== true) })),
    );
  }

  async outboxPushed(outcomes: { seq: number; refusal: Refusal | null }[]): Promise<void> {
    await this.#write(
      () => this.#sync.pushed(outcomes),
      () => ({ head: headPosition(this.#driver) }),
      () => ['cairn_outbox'],
    );
  }

  async applyPulled(events: RemoteEvent[], cursor: string): Promise<PullOutcome> {
    const outcome = await this.#write(
      () => this.#sync.applyPulled(events, cursor, this.#now()),
      () => ({ head: headPosition(this.#driver), streams: [...new Set(events.map((e) => e.stream))], types: [...new Set(events.map((e) => e.type))] }),
      () => ['events', 'cairn_projections', 'cairn_outbox', 'cairn_conflicts', ...this.#projections.readyTables()],
    );
    if (outcome.rebuilding.length > 0) this.#startRebuild();
    return outcome;
  }

  conflicts(): Promise<ConflictRecord[]> {
    return this.#queue.read(() =>
      readConflicts(this.#driver).map((c) => ({
        ...c,
        serverEvents: readStreamEvents(this.#driver, c.stream, typeof c.expected === 'number' ? c.expected + 1 : 1, false, -1),
      })),
    );
  }

  async resolveConflict(id: number, resolution: 'rebase' | 'discard'): Promise<AppendResult[]> {
    if (!Number.isSafeInteger(id)) throw new InvalidArgumentError('A conflict id is an integer');
    if (resolution !== 'rebase' && resolution !== 'discard') throw new InvalidArgumentError("A conflict is resolved with 'rebase' or 'discard'");
    const results = await this.#write(
      () => {
        const conflict = readConflicts(this.#driver).find((c) => c.id === id);
        if (conflict === undefined) throw new InvalidArgumentError(`There is no conflict ${id}`);
        removeConflict(this.#driver, id);
        if (resolution === 'discard') return [];
        // After the server's events: each stream at its version now.
        const reqs = conflict.appends.map((a) => ({ ...toRequest(a), expectedVersion: streamVersion(this.#driver, a.stream) }));
        return this.#localWrite(reqs, conflict.command);
      },
      (results) => (results.length === 0 ? { head: headPosition(this.#driver) } : describeAppends([], results)),
      () => ['cairn_conflicts', ...this.#appendTables()],
    );
    return results;
  }

  close(): Promise<void> {
    this.#closed ??= Promise.resolve().then(async () => {
      await this.#queue.close();
      this.#stopTracking?.();
      this.#driver.close();
    });
    return this.#closed;
  }

  /** Queues a write; its notice names the tables it touched (or `fallback`'s, if the driver cannot tell). */
  async #write<T>(run: () => T, describe: (result: T) => NoticePart, fallback: () => readonly string[]): Promise<T> {
    const done = await this.#queue.write(
      () => this.#tracked(run, fallback),
      (d) => this.#noted(describe(d.value), d),
    );
    return done.value;
  }

  /** Runs a write, noting what its notice will need to say. */
  #tracked<T>(run: () => T, fallback: () => readonly string[]): Tracked<T> {
    const recorder = this.#recorder;
    if (recorder !== undefined) {
      const stop = recorder.record();
      let value: T;
      try {
        value = run();
      } catch (e) {
        stop(false);
        throw e;
      }
      return { value, tables: stop(true), queued: this.#sync.takeQueued() };
    }
    this.#touched.clear();
    const value = run();
    const tables = this.#stopTracking !== undefined ? [...this.#touched] : fallback();
    return { value, tables, queued: this.#sync.takeQueued() };
  }

  /** The notice of a committed write. */
  #noted(part: NoticePart, done: Tracked<unknown>): void {
    this.#notices.note(done.queued ? { ...part, queued: true } : part, done.tables);
  }

  /**
   * Single appends queued next to each other, as one write: one version read and one insert
   * for all (`appendEventsBatch`). Where that cannot be, it throws, and the commit queue runs
   * each append alone, which tells a conflict from a retry and fails only the append at
   * fault. An append to a synced stream goes alone too: the outbox keeps an undo per write.
   */
  #appendAll(reqs: readonly AppendRequest[]): Tracked<AppendResult>[] {
    if (reqs.some((r) => this.#sync.covers(r.stream))) throw NOT_BATCHED;
    const done = this.#tracked(() => {
      const inserted: StoredEvent[][] = [];
      const results = appendEventsBatch(this.#driver, reqs, this.#now(), inserted);
      if (results === undefined) throw NOT_BATCHED;
      this.#projections.apply(inserted.flat());
      return results;
    }, () => this.#appendTables());
    return done.value.map((value) => ({ ...done, value }));
  }

  /** One local write: its appends, their projections, and (when it syncs) its place in the outbox. */
  #localWrite(reqs: readonly AppendRequest[], command: OutboxCommand | null): AppendResult[] {
    const at = this.#now();
    return this.#sync.write(reqs, at, command, () => {
      const inserted: StoredEvent[][] = [];
      const result = reqs.map((req) => {
        const rows: StoredEvent[] = [];
        const r = appendEvents(this.#driver, req, at, rows);
        this.#projections.apply(rows);
        inserted.push(rows);
        return r;
      });
      return { result, inserted };
    });
  }

  /** Builds the projections behind the log, unless a build is already running. */
  #startRebuild(): void {
    if (this.#rebuilding) return;
    this.#rebuilding = true;
    void rebuildProjections({
      projections: this.#projections,
      batchSize: this.#batchSize,
      write: (run, describe, fallback) => this.#write(run, describe, fallback),
      progress: (p) => {
        for (const listener of this.#progressListeners) listener(p);
      },
      closing: () => this.#closed !== undefined,
    }).finally(() => {
      this.#rebuilding = false;
      // A restart that came while the last batch ran.
      if (this.#closed === undefined && this.#projections.building().length > 0) this.#startRebuild();
    });
  }

  #appendTables(): string[] {
    return ['events', 'cairn_projections', ...this.#projections.readyTables()];
  }
}

/** A write's result, with what its commit notice says: the tables it touched, and whether it queued anything for the server. */
interface Tracked<T> {
  value: T;
  tables: readonly string[];
  queued: boolean;
}

/** Thrown by a batch that must run as single writes instead. */
const NOT_BATCHED = new Error('These appends run one by one');

/** The notice of a local write. */
function describeAppends(reqs: readonly AppendRequest[], results: readonly AppendResult[]): NoticePart {
  return {
    head: Math.max(0, ...results.map((r) => r.position)),
    streams: results.map((r) => r.stream),
    types: reqs.flatMap((r) => r.events.map((e) => e.type)),
  };
}

/** Checks the aggregate command an append says it was decided from. */
function validateCommand(command: unknown): OutboxCommand | null {
  if (command === undefined || command === null) return null;
  const c = command as Partial<OutboxCommand>;
  if (typeof c !== 'object' || typeof c.category !== 'string' || typeof c.id !== 'string' || typeof c.commandId !== 'string') {
    throw new InvalidArgumentError('An append\'s command needs its category, id and commandId');
  }
  try {
    JSON.stringify(c.command);
  } catch {
    throw new InvalidArgumentError("An append's command must be JSON");
  }
  return { category: c.category, id: c.id, command: c.command ?? null, commandId: c.commandId };
}

function checkLimit(value: unknown, what: string, max: number): number {
  if (!Number.isSafeInteger(value) || (value as number) < 1 || (value as number) > max) {
    throw new InvalidArgumentError(`${what} must be an integer from 1 to ${max}, got ${String(value)}`);
  }
  return value as number;
}
