/**
 * The store as page code sees it. One class serves both runtimes: over a worker (browser)
 * and in-process (Node, edge). Events are validated and encoded here, before anything
 * crosses to the worker, and decoded here when they come back.
 *
 * Subscriptions, durable consumers and watches run here, on the page, fed by the
 * context's commit notices (from the worker in a browser, whichever tab committed; from
 * the engine in-process); closing the store stops them all.
 */
import { encodeCursor } from '../core/cursor.ts';
import { createIdFactory, decodeEvent, encodeAppend, type IdFactory } from '../core/encode.ts';
import { InvalidArgumentError, StoreClosedError } from '../core/errors.ts';
import { validateFilter, validatePosition } from '../core/validate.ts';
import { checkBatchSize } from './follow.ts';
import type { StoredEvent, StoredPage } from '../core/records.ts';
import type { LogSource } from './follow.ts';
import type { Upcasting } from '../core/upcast.ts';
import { Aggregate, type AggregateDefinition, type AggregateStore } from '../domain/aggregate.ts';
import {
  processManagerHandler,
  type ProcessManagerDefinition,
} from '../domain/process-manager.ts';
import type {
  AppendManyEntry,
  AppendOptions,
  AppendResult,
  DefaultEventMap,
  Edge,
  EventFilter,
  EventInputOf,
  EventMap,
  EventsOptions,
  Page,
  PageArgs,
  ReadStreamOptions,
  RecordedEventOf,
  StorageKind,
} from '../core/types.ts';
import type { CommitNotice } from '../core/engine.ts';
import type { ConsumerInfo, DeadLetter } from '../core/checkpoints.ts';
import type { QueryOptions, Row, SqlValue } from '../core/driver.ts';
import type { ProjectionProgress } from '../core/projection.ts';
import type { Role, SyncStatus } from '../protocol/api.ts';
import { StoreSync, type Conflict } from './sync-handle.ts';
import type { Backend, CommitFeed, Feed, RoleFeed } from './ports.ts';
import {
  startConsumer,
  type Consumer,
  type ConsumerContext,
  type ConsumerOptions,
  type ProcessManager,
  type ProcessManagerOptions,
} from './consumer.ts';
import { stream, subscribe, type SubscribeOptions, type Subscription } from './subscription.ts';
import { watch, type Watch, type WatchOptions } from './watch.ts';
import { estimateStorage, requestPersistence, type StorageEstimate } from './device-storage.ts';
// Type-only: the NDJSON code itself loads when a page first exports or imports.
import type { ExportOptions, ImportOptions, ImportSource } from './transfer.ts';
import type { ImportResult } from '../core/import-events.ts';

/** How a store was opened. */
export interface StoreContext {
  name: string;
  storage: StorageKind;
  role: Role;
  maxEventBytes: number;
  backend: Backend;
  /** Brings stored events to their latest schema version, and says what new events are written with. */
  upcasting: Upcasting;
  /** Tells of every commit to the store, whichever tab made it. */
  onCommit: CommitFeed;
  /** Tells when this tab's worker changes role. */
  onRoleChange: RoleFeed;
  /** Tells how the projections' builds go. */
  onProjectionProgress: Feed<ProjectionProgress>;
  /** Releases what the backend holds (a worker, a connection) once the engine is closed. */
  dispose: () => void;
  /** The sync status when the store opened. */
  syncStatus: SyncStatus;
  /** Tells of each change of sync status. */
  onSyncStatus: Feed<SyncStatus>;
  /** Tells when sync found conflicts. */
  onSyncConflicts: Feed<number[]>;
  /** Tells when sync needs the user's token. */
  onSyncTokenNeeded: Feed<null>;
  /** The app's token function. */
  syncToken?: () => string | undefined | Promise<string | undefined>;
}

/**
 * An open event store. `E` maps event types to their data, narrowing `append` and reads.
 * @example
 * const store = await openStore({ name: 'shop' });
 * await store.append('cart-42', [{ type: 'ItemAdded', data: { sku: 'A1' } }], { expectedVersion: 'no_stream' });
 */
export class Store<E extends EventMap = DefaultEventMap> {
  /** The store's name. */
  readonly name: string;
  /** Where the data lives. */
  readonly storage: StorageKind;
  readonly #ctx: StoreContext;
  readonly #nextId: IdFactory = createIdFactory();
  readonly #roleListeners = new Set<(role: Role) => void>();
  #role: Role;
  /** Aborted by `close`: stops every subscription, consumer and watch of this store. */
  readonly #lifetime = new AbortController();
  #closing: Promise<void> | undefined;
  /** The aggregates that decide their conflicted commands again, by category. */
  readonly #redeciders = new Map<string, Aggregate<unknown, unknown, E>>();
  /** Where the store's sync stands, and its conflicts. */
  readonly sync: StoreSync;

  constructor(ctx: StoreContext) {
    this.#ctx = Object.freeze({ ...ctx });
    this.name = ctx.name;
    this.storage = ctx.storage;
    this.#role = ctx.role;
    this.sync = new StoreSync(
      {
        backend: ctx.backend,
        onStatus: ctx.onSyncStatus,
        onConflicts: ctx.onSyncConflicts,
        onTokenNeeded: ctx.onSyncTokenNeeded,
        ...(ctx.syncToken === undefined ? {} : { token: ctx.syncToken }),
        redecide: (conflict) => this.#redecide(conflict),
        lockName: `cairn:${ctx.name}:sync-redecide`,
        signal: this.#lifetime.signal,
      },
      ctx.syncStatus,
    );
    ctx.onRoleChange((role) => {
      // Told once per change, even if the worker were to repeat itself.
      if (role === this.#role) return;
      this.#role = role;
      for (const listener of this.#roleListeners) listener(role);
    });
  }

  /** Whether this tab's worker owns the database (`leader`) or forwards to the one that does. */
  get role(): Role {
    return this.#role;
  }

  /**
   * Calls `listener` when this tab's role changes (a follower takes over when the leader
   * tab closes or crashes); returns a function that stops listening.
   * @example
   * const off = store.onRoleChange((role) => console.log('this tab is now', role));
   */
  onRoleChange(listener: (role: Role) => void): () => void {
    this.#roleListeners.add(listener);
    return () => void this.#roleListeners.delete(listener);
  }

  /**
   * Calls `listener` after every commit to the store, from whichever tab, with the new head,
   * the streams, types and tables it touched, and how long its transaction took. A notice
   * is a hint to read, not the events themselves (use `subscribe` for those); after a leader
   * handover one notice with `tables: ['*']` stands for whatever may have been missed.
   * @example
   * const off = store.onCommit((n) => console.log('head is now', n.head, `(${n.commitMs} ms)`));
   */
  onCommit(listener: (notice: CommitNotice) => void): () => void {
    this.#open();
    return this.#ctx.onCommit(listener);
  }

  /** Appends events to one stream atomically; resolves once they are committed. */
  async append(stream: string, events: readonly EventInputOf<E>[], options?: AppendOptions): Promise<AppendResult> {
    const backend = this.#open();
    return backend.append(this.#encode(stream, events, options));
  }

  /** Appends to several streams in one transaction: all of it commits, or none. */
  async appendMany(entries: readonly AppendManyEntry<E>[]): Promise<AppendResult[]> {
    const backend = this.#open();
    if (!Array.isArray(entries)) throw new InvalidArgumentError('appendMany takes an array of appends');
    const reqs = entries.map((entry) => this.#encode(entry.stream, entry.events, entry));
    return backend.appendMany(reqs);
  }

  /** Reads one stream in version order (or reversed). */
  async readStream(stream: string, options?: ReadStreamOptions): Promise<RecordedEventOf<E>[]> {
    return this.#decodeAll(await this.#open().readStream(stream, options));
  }

  /** Reads one Relay-style page of the global log, filtered. */
  async read(filter: EventFilter = {}, page: PageArgs = {}): Promise<Page<RecordedEventOf<E>>> {
    const result = await this.#open().read(filter, page);
    const edges: Edge<RecordedEventOf<E>>[] = [];
    for (const row of result.events) {
      const node = this.#decode(row);
      if (node !== undefined) edges.push({ cursor: encodeCursor(row.position), node });
    }
    return pageOf(edges, result);
  }

  /** Iterates over the events matching `filter`, in global order, fetching a batch at a time. */
  async *events(filter: EventFilter = {}, options: EventsOptions = {}): AsyncGenerator<RecordedEventOf<E>, void> {
    const checkedFilter = validateFilter(filter);
    const batchSize = checkBatchSize(options?.batchSize);
    let after = validatePosition(options?.from ?? 0, 'from');
    for (;;) {
      const page = await this.#open().read(checkedFilter, { first: batchSize, after: encodeCursor(after) });
      for (const row of page.events) {
        const event = this.#decode(row);
        if (event !== undefined) yield event;
        after = row.position;
      }
      if (!page.hasNextPage) return;
    }
  }

  /** The newest global position. */
  async head(): Promise<number> {
    return this.#open().head();
  }

  /**
   * An aggregate over the streams of one category: `handle` decides and appends with
   * optimistic concurrency, retrying on conflicts; `load` folds snapshot plus tail.
   * @example
   * const carts = store.aggregate({ category: 'cart', initialState: { items: 0 }, evolve, decide, snapshotEvery: 100 });
   * await carts.handle('42', { kind: 'AddItem', sku: 'A1' });
   */
  aggregate<S, C>(definition: AggregateDefinition<S, C, E>): Aggregate<S, C, E> {
    const store: AggregateStore<E> = {
      load: async (stream, revision) => {
        const loaded = await this.#open().loadAggregate(stream, revision);
        return { snapshot: loaded.snapshot, events: this.#decodeAll(loaded.events) };
      },
      readStream: (stream) => this.readStream(stream),
      readEvents: async (ids) => this.#decodeAll(await this.#open().readEvents(ids)),
      append: async (stream, events, expectedVersion, command) =>
        this.#open().append(this.#encode(stream, events, { expectedVersion }), command),
      saveSnapshot: (stream, revision, version, state) => this.#open().saveSnapshot(stream, revision, version, state),
    };
    const aggregate = new Aggregate(store, definition);
    if (definition.onConflict === 'redecide') this.#redeciders.set(definition.category, aggregate as unknown as Aggregate<unknown, unknown, E>);
    return aggregate;
  }

  /**
   * Calls `handler` for each event matching `filter`: first those already stored (from
   * `options.from`), then each new one, whichever tab commits it. Events come in global
   * order and each call is awaited before the next. A handler that throws stops the
   * subscription at that event (`done` rejects with the error).
   * @example
   * const sub = store.subscribe({ category: 'cart' }, async (e) => render(e), { from: 'end' });
   * sub.close();
   */
  subscribe(
    filter: EventFilter,
    handler: (event: RecordedEventOf<E>) => unknown,
    options?: SubscribeOptions,
  ): Subscription {
    this.#open();
    return subscribe<E>(this.#source(), this.#lifetime.signal, validateFilter(filter), handler, options);
  }

  /**
   * The async-iterator form of `subscribe`: catch-up then live, until `options.signal`
   * aborts, the loop breaks, or the store closes.
   * @example
   * for await (const e of store.stream({ types: ['ItemAdded'] }, { signal })) console.log(e.data);
   */
  stream(filter: EventFilter = {}, options?: SubscribeOptions): AsyncGenerator<RecordedEventOf<E>, void> {
    this.#open();
    return stream<E>(this.#source(), this.#lifetime.signal, validateFilter(filter), options);
  }

  /**
   * Starts this tab's instance of the durable consumer `name`. Its checkpoint is kept in
   * the store; one instance runs at a time across all tabs, the others wait to take over.
   * @example
   * const mailer = store.consumer('mailer', { category: 'order' }, async (e) => send(e));
   * await mailer.stop();
   */
  consumer(
    name: string,
    filter: EventFilter,
    handler: (event: RecordedEventOf<E>, context: ConsumerContext) => unknown,
    options?: ConsumerOptions,
  ): Consumer {
    this.#open();
    return startConsumer<E>(this.#source(), this.name, this.#lifetime.signal, name, validateFilter(filter), handler, options);
  }

  /**
   * Starts this tab's instance of a process manager: a durable consumer that reacts to events
   * by sending commands to aggregates, each exactly once even when a reaction is replayed.
   * @example
   * const checkout = store.processManager({
   *   name: 'checkout', filter: { types: ['OrderPlaced'] },
   *   react: (e) => [carts.command(e.data.cartId, { kind: 'checkout' })],
   * });
   */
  processManager(definition: ProcessManagerDefinition<E>, options?: ProcessManagerOptions): ProcessManager {
    if (typeof definition?.react !== 'function') throw new InvalidArgumentError('A process manager needs a react function');
    return this.consumer(definition.name, definition.filter ?? {}, processManagerHandler(definition), options);
  }

  /** Every durable consumer's checkpoint, lag (positions behind the head) and dead-letter count. */
  async consumers(): Promise<ConsumerInfo[]> {
    return this.#open().consumers();
  }

  /** The events durable consumers gave up on, with their errors; of one consumer, or of all. */
  async deadLetters(consumer?: string): Promise<DeadLetter[]> {
    return this.#open().deadLetters(consumer);
  }

  /**
   * Runs one read-only SQL statement (on projection tables, the `events` table...) and
   * returns its rows. SQLite itself refuses any write: READ_ONLY_QUERY. A query that runs
   * past its time budget (`options.timeoutMs`, else the store's `queryTimeout`) is
   * interrupted with QUERY_TIMEOUT, and the store goes on serving.
   * @example
   * const [cart] = await store.query('SELECT * FROM cart_totals WHERE id = ?', ['cart-42']);
   */
  async query<T = Row>(sql: string, params: readonly SqlValue[] = [], options?: QueryOptions): Promise<T[]> {
    if (!Array.isArray(params)) throw new InvalidArgumentError('Query parameters must be an array');
    const result = await this.#open().query(sql, [...params], options ?? {});
    return result.rows as T[];
  }

  /**
   * A live query: calls `callback` with the rows now, then again after every commit (from
   * any tab) that wrote a table the query reads, and not after other commits.
   * @example
   * const w = store.watch('SELECT count(*) AS n FROM cart_totals', [], ([row]) => show(row?.n));
   * w.close();
   */
  watch<T = Row>(
    sql: string,
    params: readonly SqlValue[],
    callback: (rows: T[]) => unknown,
    options?: WatchOptions,
  ): Watch {
    const backend = this.#open();
    return watch<T>(backend, this.#ctx.onCommit, this.#lifetime.signal, sql, params, callback, options);
  }

  /** Where each projection of the store's worker stands (building, ready or failed). */
  async projections(): Promise<ProjectionProgress[]> {
    return this.#open().projections();
  }

  /** Calls `listener` as projections are built from the log; returns a function that stops it. */
  onProjectionProgress(listener: (progress: ProjectionProgress) => void): () => void {
    return this.#ctx.onProjectionProgress(listener);
  }

  /**
   * Asks the browser to keep this origin's data under storage pressure
   * (`navigator.storage.persist()`). Resolves to whether it is kept; never hangs: an answer
   * that does not come within a moment (a prompt no one answers) is false.
   * @example
   * if (!(await store.persist())) console.log('the browser may evict this data when space runs low');
   */
  persist(): Promise<boolean> {
    this.#open();
    return requestPersistence();
  }

  /** The origin's storage use and quota, as the browser reports them, and whether its data is persisted. */
  estimate(): Promise<StorageEstimate> {
    this.#open();
    return estimateStorage();
  }

  /**
   * The store's events (or those matching `filter`) as NDJSON, one recorded event a line, in
   * global order, read a page at a time as the stream is pulled.
   * @example
   * const file = await new Response(store.export()).blob();
   */
  export(options: ExportOptions = {}): ReadableStream<Uint8Array> {
    const backend = this.#open();
    if (typeof options !== 'object' || options === null) throw new InvalidArgumentError('Export options must be an object');
    const filter = validateFilter(options.filter ?? {});
    return lazyStream(() => import('./transfer.ts').then((t) => t.exportEvents(backend, filter)));
  }

  /**
   * Imports NDJSON recorded events (as `export` writes them) from a string, a Blob or a byte
   * stream, keeping their ids, streams, versions, metadata, timestamps and schema versions.
   * Idempotent by event id. A bad line fails with an error naming it, and nothing of its
   * batch is written.
   * @example
   * const { imported, skipped } = await store.import(file, { onProgress: (p) => console.log(p.lines) });
   */
  async import(source: ImportSource, options?: ImportOptions): Promise<ImportResult> {
    const backend = this.#open();
    const { importEvents } = await import('./transfer.ts');
    return importEvents(backend, source, this.#ctx.maxEventBytes, options);
  }

  /**
   * A SQLite database file of the whole store, taken between two commits while appends go
   * on: open it elsewhere with `openStore({ name, restore: bytes })`.
   */
  backup(): Promise<Uint8Array> {
    return this.#open().backup();
  }

  /** Waits for every acknowledged write, then closes. Later calls fail with STORE_CLOSED. */
  close(): Promise<void> {
    if (this.#closing === undefined) {
      this.#lifetime.abort();
      this.#closing = this.#ctx.backend.close().finally(() => this.#ctx.dispose());
    }
    return this.#closing;
  }

  /** Decides a conflict's command again, if an aggregate of its category asked to; its events, or undefined. */
  async #redecide(conflict: Conflict): Promise<unknown[] | undefined> {
    const command = conflict.command;
    const aggregate = command === null ? undefined : this.#redeciders.get(command.category);
    if (command === null || aggregate === undefined) return undefined;
    const result = await aggregate.handle(command.id, command.command, { commandId: command.commandId });
    await this.#open().resolveConflict(conflict.id, 'discard');
    return result.events;
  }

  #encode(stream: string, events: readonly EventInputOf<E>[], options: AppendOptions | undefined) {
    return encodeAppend(stream, events, options, this.#nextId, this.#ctx.maxEventBytes, this.#ctx.upcasting.schemaVersionOf);
  }

  #decode(row: StoredEvent): RecordedEventOf<E> | undefined {
    return this.#ctx.upcasting.upcast(decodeEvent(row)) as RecordedEventOf<E> | undefined;
  }

  #decodeAll(rows: StoredEvent[]): RecordedEventOf<E>[] {
    const out: RecordedEventOf<E>[] = [];
    for (const row of rows) {
      const event = this.#decode(row);
      if (event !== undefined) out.push(event);
    }
    return out;
  }

  #source(): LogSource {
    return { backend: this.#ctx.backend, onCommit: this.#ctx.onCommit, decode: (row) => this.#decode(row) };
  }

  #open(): Backend {
    if (this.#closing !== undefined) throw new StoreClosedError(`The store "${this.name}" is closed`);
    return this.#ctx.backend;
  }
}

function pageOf<N>(edges: Edge<N>[], page: StoredPage): Page<N> {
  // Cursors of the page's ends come from the stored rows, so an event skipped by upcasting
  // at either end does not make the next page repeat or miss anything.
  const first = page.events[0];
  const last = page.events.at(-1);
  return {
    edges,
    pageInfo: {
      hasNextPage: page.hasNextPage,
      hasPreviousPage: page.hasPreviousPage,
      startCursor: first === undefined ? null : encodeCursor(first.position),
      endCursor: last === undefined ? null : encodeCursor(last.position),
    },
  };
}

/** A stream that reads from the one `open` makes, opened at the first read (for code loaded on demand). */
function lazyStream(open: () => Promise<ReadableStream<Uint8Array>>): ReadableStream<Uint8Array> {
  let reader: ReadableStreamDefaultReader<Uint8Array> | undefined;
  return new ReadableStream<Uint8Array>(
    {
      async pull(controller) {
        reader ??= (await open()).getReader();
        const next = await reader.read();
        if (next.done) controller.close();
        else controller.enqueue(next.value);
      },
      cancel: (reason) => reader?.cancel(reason),
    },
    { highWaterMark: 0 },
  );
}
