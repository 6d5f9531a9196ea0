/**
 * Aggregates: command handling over one stream per entity, `decide` then `evolve`.
 *
 * Responsibilities:
 * - `load(id)`: the latest snapshot of this revision plus the events after it, folded.
 * - `handle(id, command)`: load, decide, append with `expectedVersion` = the loaded version;
 *   on VERSION_CONFLICT reload and decide again, up to `retries` times.
 * - Snapshots every `snapshotEvery` events, written after the append, never blocking it.
 *
 * Interleavings handled:
 * - Calls for the same id through one aggregate object run one after another, so they
 *   never conflict with each other; conflicts come only from other tabs or objects, and
 *   the retry loop settles those.
 * - A command with a `commandId` appends events whose ids derive from it, so handling the
 *   same command twice (a process manager replaying after a crash) writes nothing the
 *   second time: the first attempt's events are found and returned.
 */
import { toStrictJson } from '../core/encode.ts';
import { sleep } from '../core/time.ts';
import { isUlid } from '../core/validate.ts';
import { InvalidArgumentError, isVersionConflict } from '../core/errors.ts';
import type {
  AppendResult,
  DefaultEventMap,
  EventInputOf,
  EventMap,
  Metadata,
  RecordedEventOf,
} from '../core/types.ts';

/** How an aggregate folds and decides. `S` is its state, `C` its commands, `E` its events. */
export interface AggregateDefinition<S, C, E extends EventMap = DefaultEventMap> {
  /** Streams are `${category}-${id}`. */
  category: string;
  /** The state of an entity with no events (a value, or a function making a fresh one). */
  initialState: S | (() => S);
  /** Folds one event into the state. Must be pure. */
  evolve: (state: S, event: RecordedEventOf<E>) => S;
  /** Turns a command into events, or throws a domain error. */
  decide: (command: C, state: S) => EventInputOf<E>[] | Promise<EventInputOf<E>[]>;
  /** Take a snapshot every this many events (none when absent). State must be JSON. */
  snapshotEvery?: number;
  /** The version of `evolve`: bump it when evolve changes, and old snapshots are ignored. Default 1. */
  revision?: number;
  /** How many times to reload and decide again after a version conflict. Default 10. */
  retries?: number;
  /**
   * What to do when sync finds that a command made with a `commandId` conflicts with the
   * server's events of its stream: `'redecide'` decides it again on the server's state (the
   * outcome is told by `store.sync.onRedecided`); `'keep'` (the default) leaves the conflict
   * to the app (`store.sync.conflicts()`).
   */
  onConflict?: 'redecide' | 'keep';
}

/** Options of `handle`. */
export interface HandleOptions {
  /** Metadata for the resulting events; `correlationId` and `causationId` propagate. */
  metadata?: Metadata;
  /** A stable id for this command; handling the same id twice appends nothing the second time. */
  commandId?: string;
}

/** An event `handle` appended. */
export type AppendedEvent<E extends EventMap> = EventInputOf<E> & {
  id: string;
  version: number;
  position: number;
  metadata: Metadata;
};

/** What `handle` resolves to: the new state and version, and the events appended. */
export interface HandleResult<S, E extends EventMap> {
  state: S;
  version: number;
  events: AppendedEvent<E>[];
}

/** A loaded entity. */
export interface LoadResult<S> {
  state: S;
  version: number;
}

/** A command addressed to one entity of an aggregate, for a process manager to send. */
export interface AggregateCommand {
  readonly category: string;
  readonly id: string;
  readonly command: unknown;
  /** Handles the command (see `Aggregate.handle`). */
  send(options?: HandleOptions): Promise<unknown>;
}

/** What a command an aggregate appended was: kept with the write, so that sync can decide it again. */
export interface AggregateOrigin {
  category: string;
  id: string;
  command: unknown;
  commandId: string;
}

/** What an aggregate needs of a store. */
export interface AggregateStore<E extends EventMap> {
  load(stream: string, revision: number | null): Promise<{ snapshot: { version: number; state: string } | null; events: RecordedEventOf<E>[] }>;
  readStream(stream: string): Promise<RecordedEventOf<E>[]>;
  readEvents(ids: string[]): Promise<RecordedEventOf<E>[]>;
  append(stream: string, events: EventInputOf<E>[], expectedVersion: number, command?: AggregateOrigin): Promise<AppendResult>;
  saveSnapshot(stream: string, revision: number, version: number, state: string): Promise<void>;
}

/** Handles commands for the entities of one category. */
export class Aggregate<S, C, E extends EventMap = DefaultEventMap> {
  readonly category: string;
  readonly #def: Readonly<AggregateDefinition<S, C, E>>;
  readonly #store: AggregateStore<E>;
  readonly #revision: number;
  readonly #queues = new Map<string, Promise<unknown>>();

  constructor(store: AggregateStore<E>, definition: AggregateDefinition<S, C, E>) {
    checkDefinition(definition);
    this.#def = Object.freeze({ ...definition });
    this.#store = store;
    this.category = definition.category;
    this.#revision = definition.revision ?? 1;
  }

  /** The stream of an entity. */
  streamOf(id: string): string {
    return `${this.category}-${id}`;
  }

  /** Addresses `command` to entity `id`, to be sent later (a process manager's reaction). */
  command(id: string, command: C): AggregateCommand {
    return { category: this.category, id, command, send: (options) => this.handle(id, command, options) };
  }

  /** Loads an entity's current state. */
  load(id: string): Promise<LoadResult<S>> {
    return this.#serial(id, () => this.#load(id));
  }

  /** Decides on a command and appends its events, retrying on version conflicts. */
  handle(id: string, command: C, options: HandleOptions = {}): Promise<HandleResult<S, E>> {
    return this.#serial(id, () => this.#handle(id, command, options));
  }

  async #handle(id: string, command: C, options: HandleOptions): Promise<HandleResult<S, E>> {
    const stream = this.streamOf(id);
    const retries = this.#def.retries ?? 10;
    for (let attempt = 0; ; attempt++) {
      if (options.commandId !== undefined) {
        // Checked before deciding: once applied, the command may no longer be valid.
        const [first] = await deriveIds(options.commandId, 0, 1);
        if ((await this.#store.readEvents([first!])).length > 0) return this.#alreadyHandled(id, options.commandId);
      }
      const { state, version } = await this.#load(id);
      const decided = await this.#def.decide(command, state);
      if (decided.length === 0) return { state, version, events: [] };
      const ids = options.commandId === undefined ? undefined : await deriveIds(options.commandId, 0, decided.length);
      const events = decided.map((e, i) => ({
        ...e,
        ...(ids === undefined ? {} : { id: ids[i]! }),
        metadata: withCausation(e.metadata, options),
      })) as EventInputOf<E>[];
      let result: AppendResult;
      try {
        const origin = options.commandId === undefined ? undefined : { category: this.category, id, command, commandId: options.commandId };
        result = await this.#store.append(stream, events, version, origin);
      } catch (e) {
        if (isVersionConflict(e) && attempt < retries) {
          // Another writer got there first; back off a little, with jitter, and decide again.
          await sleep(Math.random() * Math.min(2 ** attempt, 50));
          continue;
        }
        throw e;
      }
      const appended = events.map((e, i) => ({
        ...e,
        id: result.ids[i]!,
        version: version + i + 1,
        position: result.position - events.length + i + 1,
        metadata: e.metadata ?? {},
      })) as AppendedEvent<E>[];
      let next = state;
      for (const e of appended) next = this.#def.evolve(next, asRecorded<E>(e, stream, this.category));
      this.#maybeSnapshot(stream, version, result.version, next);
      return { state: next, version: result.version, events: appended };
    }
  }

  async #alreadyHandled(id: string, commandId: string): Promise<HandleResult<S, E>> {
    const stored: RecordedEventOf<E>[] = [];
    for (let from = 0; ; from += 16) {
      const found = await this.#store.readEvents(await deriveIds(commandId, from, 16));
      stored.push(...found);
      if (found.length < 16) break;
    }
    const { state, version } = await this.#load(id);
    const events = stored.map((e) => ({ type: e.type, data: e.data, id: e.id, version: e.version, position: e.position, metadata: e.metadata }));
    return { state, version, events: events as AppendedEvent<E>[] };
  }

  async #load(id: string): Promise<LoadResult<S>> {
    const stream = this.streamOf(id);
    const every = this.#def.snapshotEvery;
    const loaded = await this.#store.load(stream, every ? this.#revision : null);
    let state = this.#initial();
    let version = 0;
    let events = loaded.events;
    if (loaded.snapshot !== null) {
      try {
        state = JSON.parse(loaded.snapshot.state) as S;
        version = loaded.snapshot.version;
      } catch {
        // A corrupt snapshot is only a lost optimisation: replay the whole stream.
        events = await this.#store.readStream(stream);
      }
    }
    for (const e of events) {
      state = this.#def.evolve(state, e);
      version = e.version;
    }
    return { state, version };
  }

  #maybeSnapshot(stream: string, before: number, after: number, state: S): void {
    const every = this.#def.snapshotEvery;
    if (!every || Math.floor(after / every) === Math.floor(before / every)) return;
    let json: string;
    try {
      json = toStrictJson(state, 'aggregate state');
    } catch {
      return; // State that JSON cannot hold is simply not snapshotted.
    }
    // Not awaited: the command has succeeded whether or not the snapshot is written.
    this.#store.saveSnapshot(stream, this.#revision, after, json).catch(() => {});
  }

  #initial(): S {
    const initial = this.#def.initialState;
    return typeof initial === 'function' ? (initial as () => S)() : structuredClone(initial);
  }

  #serial<T>(id: string, task: () => Promise<T>): Promise<T> {
    const previous = this.#queues.get(id) ?? Promise.resolve();
    const run = previous.then(task, task);
    const tail = run.catch(() => {});
    this.#queues.set(id, tail);
    void tail.then(() => {
      if (this.#queues.get(id) === tail) this.#queues.delete(id);
    });
    return run;
  }
}

function checkDefinition<S, C, E extends EventMap>(d: AggregateDefinition<S, C, E>): void {
  if (typeof d !== 'object' || d === null) throw new InvalidArgumentError('An aggregate needs its definition');
  if (typeof d.category !== 'string' || d.category.length === 0 || d.category.length > 100 || d.category.includes('-')) {
    throw new InvalidArgumentError('An aggregate needs a category: a non-empty string without "-" of at most 100 characters');
  }
  if (typeof d.evolve !== 'function' || typeof d.decide !== 'function') {
    throw new InvalidArgumentError(`Aggregate "${d.category}" needs evolve and decide functions`);
  }
  const positiveInteger = (value: unknown, what: string, min: number): void => {
    if (value !== undefined && !(Number.isSafeInteger(value) && (value as number) >= min)) {
      throw new InvalidArgumentError(`${what} must be an integer >= ${min}, got ${String(value)}`);
    }
  };
  positiveInteger(d.snapshotEvery, 'snapshotEvery', 1);
  positiveInteger(d.revision, 'revision', 1);
  positiveInteger(d.retries, 'retries', 0);
  if (d.onConflict !== undefined && d.onConflict !== 'redecide' && d.onConflict !== 'keep') {
    throw new InvalidArgumentError("onConflict must be 'redecide' or 'keep'");
  }
}

function withCausation(metadata: Metadata | undefined, options: HandleOptions): Metadata {
  const base = options.metadata ?? {};
  const out: Metadata = { ...base, ...metadata };
  const correlationId = base.correlationId ?? options.commandId;
  // What caused the command (a process manager's trigger) is what caused its events.
  const causationId = base.causationId ?? options.commandId;
  if (correlationId !== undefined) out.correlationId = correlationId;
  if (causationId !== undefined) out.causationId = causationId;
  return out;
}

function asRecorded<E extends EventMap>(e: AppendedEvent<E>, stream: string, category: string): RecordedEventOf<E> {
  return {
    ...e,
    // The state must equal what a fresh load folds, so the data goes through JSON as stored.
    data: e.data === undefined ? null : JSON.parse(JSON.stringify(e.data)),
    stream,
    category,
    routingKey: null,
    timestamp: Date.now(),
    schemaVersion: e.schemaVersion ?? 1,
    serverPosition: null,
  } as unknown as RecordedEventOf<E>;
}

const CROCKFORD = '0123456789ABCDEFGHJKMNPQRSTVWXYZ';

/** Event ids `from`..`from + count - 1` derived from a command id: the same command always yields the same ids. */
export async function deriveIds(commandId: string, from: number, count: number): Promise<string[]> {
  const upper = commandId.toUpperCase();
  const ids: string[] = [];
  for (let i = from; i < from + count; i++) {
    const digest = new Uint8Array(await crypto.subtle.digest('SHA-256', new TextEncoder().encode(`${commandId}\u0000${i}`)));
    // Keep the time part of a command id that starts with a ULID, so derived ids sort near their cause.
    let id = isUlid(upper.slice(0, 26)) ? upper.slice(0, 10) : CROCKFORD[digest[31]! & 7]! + [...digest.slice(20, 29)].map((b) => CROCKFORD[b & 31]).join('');
    for (let j = 0; j < 16; j++) id += CROCKFORD[digest[j]! & 31];
    ids.push(id);
  }
  return ids;
}
