/**
 * The store as page code sees it. One class serves both runtimes: over a worker (browser)
 * and in-process (Node, edge). Events are validated and encoded here, before anything
 * crosses to the worker, and decoded here when they come back.
 */
import { encodeCursor } from '../core/cursor.ts';
import { createIdFactory, decodeEvent, encodeAppend, type IdFactory } from '../core/encode.ts';
import { InvalidArgumentError, StoreClosedError } from '../core/errors.ts';
import type { StoredPage } from '../core/records.ts';
import type {
  AppendManyEntry,
  AppendOptions,
  AppendResult,
  DefaultEventMap,
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
import type { Remote } from '../protocol/rpc.ts';
import type { PushMessages, Role, WorkerApi } from '../protocol/api.ts';

/** The engine operations a store calls, wherever they run. */
export type Backend = Remote<Omit<WorkerApi, 'open'>>;

/** Listens for commits; returns a function that stops listening. */
export type CommitFeed = (listener: (notice: CommitNotice) => void) => () => void;

/** Listens for role changes of this tab's worker; returns a function that stops listening. */
export type RoleFeed = (listener: (role: Role) => void) => () => void;

/** Listens for one kind of worker push; returns a function that stops listening. */
export type PushFeed = <K extends keyof PushMessages>(
  name: K,
  listener: (data: PushMessages[K]) => void,
) => () => void;

/** How a store was opened. */
export interface StoreContext {
  name: string;
  storage: StorageKind;
  role: Role;
  maxEventBytes: number;
  backend: Backend;
  /** Tells of every commit to the store, whichever tab made it. */
  onCommit: CommitFeed;
  /** Tells when this tab's worker changes role. */
  onRoleChange: RoleFeed;
  /** Releases what the backend holds (a worker, a connection) once the engine is closed. */
  dispose: () => void;
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
  #closing: Promise<void> | undefined;

  constructor(ctx: StoreContext) {
    this.#ctx = Object.freeze({ ...ctx });
    this.name = ctx.name;
    this.storage = ctx.storage;
    this.#role = ctx.role;
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

  /** Appends events to one stream atomically; resolves once they are committed. */
  async append(stream: string, events: readonly EventInputOf<E>[], options?: AppendOptions): Promise<AppendResult> {
    const backend = this.#open();
    return backend.append(encodeAppend(stream, events, options, this.#nextId, this.#ctx.maxEventBytes));
  }

  /** Appends to several streams in one transaction: all of it commits, or none. */
  async appendMany(entries: readonly AppendManyEntry<E>[]): Promise<AppendResult[]> {
    const backend = this.#open();
    if (!Array.isArray(entries)) throw new InvalidArgumentError('appendMany takes an array of appends');
    const reqs = entries.map((entry) =>
      encodeAppend(entry.stream, entry.events, entry, this.#nextId, this.#ctx.maxEventBytes),
    );
    return backend.appendMany(reqs);
  }

  /** Reads one stream in version order (or reversed). */
  async readStream(stream: string, options?: ReadStreamOptions): Promise<RecordedEventOf<E>[]> {
    const rows = await this.#open().readStream(stream, options);
    return rows.map((row) => decodeEvent(row) as RecordedEventOf<E>);
  }

  /** Reads one Relay-style page of the global log, filtered. */
  async read(filter: EventFilter = {}, page: PageArgs = {}): Promise<Page<RecordedEventOf<E>>> {
    return toPage<E>(await this.#open().read(filter, page));
  }

  /** Iterates over the events matching `filter`, in global order, fetching a batch at a time. */
  async *events(filter: EventFilter = {}, options: EventsOptions = {}): AsyncGenerator<RecordedEventOf<E>, void> {
    const batchSize = options.batchSize ?? 500;
    let after = options.from ?? 0;
    for (;;) {
      const page = await this.#open().read(filter, { first: batchSize, after: encodeCursor(after) });
      for (const row of page.events) {
        yield decodeEvent(row) as RecordedEventOf<E>;
        after = row.position;
      }
      if (!page.hasNextPage) return;
    }
  }

  /** The newest global position. */
  async head(): Promise<number> {
    return this.#open().head();
  }

  /** Waits for every acknowledged write, then closes. Later calls fail with STORE_CLOSED. */
  close(): Promise<void> {
    this.#closing ??= this.#ctx.backend.close().finally(() => this.#ctx.dispose());
    return this.#closing;
  }

  #open(): Backend {
    if (this.#closing !== undefined) throw new StoreClosedError(`The store "${this.name}" is closed`);
    return this.#ctx.backend;
  }
}

function toPage<E extends EventMap>(page: StoredPage): Page<RecordedEventOf<E>> {
  const edges = page.events.map((row) => ({
    cursor: encodeCursor(row.position),
    node: decodeEvent(row) as RecordedEventOf<E>,
  }));
  return {
    edges,
    pageInfo: {
      hasNextPage: page.hasNextPage,
      hasPreviousPage: page.hasPreviousPage,
      startCursor: edges[0]?.cursor ?? null,
      endCursor: edges.at(-1)?.cursor ?? null,
    },
  };
}
