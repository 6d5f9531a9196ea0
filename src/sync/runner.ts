/**
 * The sync runner: one per store, in the worker that owns the database (the leader), or
 * in-process in Node. It moves the device's outbox to the server and the server's events
 * into the device, over `transport.ts`, and reports how that goes.
 *
 * Responsibilities:
 * - A cycle: pull until caught up, push what is pending (in order, in batches that fit the
 *   server's body limit), pull again (the server's confirmations and whatever came
 *   meanwhile). What the engine does with each page is `src/core/reconcile.ts`.
 * - When to cycle: at start; after a local commit that left something pending; when the
 *   live stream pokes; when the runtime (or, in a browser, the page) comes back online; on
 *   `now()`; and every `interval` ms as a fallback.
 * - Failures: a server out of reach is `offline`, retried with backoff (doubling to 30 s,
 *   with jitter), at once when the runtime says it is online again. A refused token is
 *   `error` with UNAUTHORIZED, and it is not retried until a new token is given
 *   (`setToken`), since the same token would be refused again. Other refusals are `error`,
 *   retried with backoff.
 * - A write the server will never take does not hold up the writes behind it. When the
 *   server refuses a whole push for what it carries (a stream this device may not write, a
 *   body past its limit, an event it finds invalid), the push is split in halves until the
 *   write at fault goes alone; refused alone, it becomes a conflict (`rejected: CODE: why`)
 *   for the app to discard or rebase, and the outbox goes on. A write too large for any
 *   push is refused so without being sent.
 * - Retries are safe: a push is idempotent by event id on the server, and the pull cursor
 *   moves in the same transaction as the events it covers.
 */
import { ErrorCode, UnauthorizedError, isCairnError, isUnauthorized, messageOf, type CairnError } from '../core/errors.ts';
import type { RemoteEvent } from '../core/event-log.ts';
import type { CommitNotice } from '../core/notices.ts';
import type { PullOutcome } from '../core/reconcile.ts';
import type { OutboxAppend, Refusal, SyncLocalState } from '../core/sync-log.ts';
import type { SyncFilter } from '../core/types.ts';
import { backoff, sleep } from '../core/time.ts';
import type { SyncStatus } from '../protocol/api.ts';
import { DEFAULT_MAX_BODY_BYTES, MAX_PUSH_EVENTS, type PushBatch, type PushBatchResult, type PushResponse, type ServerEvent } from './protocol.ts';
import { SyncTransport } from './transport.ts';

/** What the runner needs of the engine. */
export interface SyncEngine {
  syncOpen(filter: SyncFilter): Promise<SyncLocalState>;
  syncState(): Promise<SyncLocalState>;
  outbox(limit: number): Promise<{ seq: number; appends: OutboxAppend[] }[]>;
  outboxPushed(outcomes: { seq: number; refusal: Refusal | null }[]): Promise<void>;
  applyPulled(events: RemoteEvent[], cursor: string): Promise<PullOutcome>;
  onCommit(listener: (notice: CommitNotice) => void): () => void;
}

/** Options of a runner. */
export interface SyncRunnerOptions {
  url: string;
  /** Which streams to sync; all when absent. */
  filter?: SyncFilter;
  /** The bearer token; `setToken` replaces it. */
  token?: string;
  fetch?: typeof fetch;
  /** Keep a live stream open for pokes (default true). */
  live?: boolean;
  /** How often to cycle without a poke, in ms (default 30 000). */
  interval?: number;
  /** The largest push body, in bytes (the server's limit, 8 MiB by default). */
  maxBodyBytes?: number;
  /** Wait for `setToken` before the first try (the token comes from elsewhere). */
  awaitToken?: boolean;
}

/** What the runner tells its host. */
export interface SyncHooks {
  status(status: SyncStatus): void;
  /** New conflicts were found (their ids). */
  conflicts(ids: number[]): void;
  /** The token is missing or was refused: ask for one (`setToken`). */
  tokenNeeded(): void;
}

/** The most outbox entries one push reads. */
const PUSH_ENTRIES = 500;
/** How many events one pull asks for. */
const PULL_LIMIT = 5000;
const MAX_BACKOFF = 30_000;

/** Syncs one store with one server. */
export class SyncRunner {
  readonly #engine: SyncEngine;
  readonly #options: SyncRunnerOptions;
  readonly #hooks: SyncHooks;
  readonly #transport: SyncTransport;
  readonly #stop = new AbortController();
  #token: string | undefined;
  #status: SyncStatus = { state: 'connecting', pending: 0, serverPosition: null, lastSyncedAt: null };
  #wake: (() => void) | undefined;
  #dirty = true;
  /** Callers of `now()` waiting for the next cycle to finish. */
  #waiters: { resolve: () => void; reject: (e: unknown) => void }[] = [];
  #client = '';
  #failures = 0;
  /** The token was refused: nothing is tried until a new one (or `now()`) comes. */
  #awaitingToken = false;
  /** The next cycle was asked for by a local write: push it first, for latency. */
  #localFirst = false;
  /** The token the server last refused. */
  #refusedToken: string | undefined;
  #loop: Promise<void> | undefined;
  readonly #stopListening: () => void;

  constructor(engine: SyncEngine, options: SyncRunnerOptions, hooks: SyncHooks) {
    this.#engine = engine;
    this.#options = options;
    this.#hooks = hooks;
    this.#token = options.token;
    this.#awaitingToken = options.awaitToken === true && options.token === undefined;
    this.#dirty = !this.#awaitingToken;
    this.#transport = new SyncTransport({
      url: options.url,
      token: () => this.#token,
      ...(options.fetch === undefined ? {} : { fetch: options.fetch }),
    });
    // A local write to a synced stream leaves something to push (the runner's own commits do not).
    this.#stopListening = engine.onCommit((notice) => {
      if (notice.queued === true) this.#poke(true);
    });
    const g = globalThis as { addEventListener?: (type: string, fn: () => void) => void };
    g.addEventListener?.('online', this.#online);
    g.addEventListener?.('offline', this.#offline);
  }

  /** The last status reported. */
  get status(): SyncStatus {
    return this.#status;
  }

  /** Opens sync on the store and starts cycling. */
  async start(): Promise<void> {
    const state = await this.#engine.syncOpen(this.#options.filter ?? {});
    this.#client = state.client!;
    this.#report({ pending: state.pending });
    this.#loop = this.#run();
    if (this.#options.live !== false) void this.#live();
  }

  /** Cycles now; resolves once caught up (pushed and pulled), rejects with what failed. */
  now(): Promise<void> {
    // Asked for now (or the page heard it is back online): the backoff starts afresh.
    this.#failures = 0;
    return new Promise((resolve, reject) => {
      this.#waiters.push({ resolve, reject });
      this.#poke();
    });
  }

  /** Replaces the token (after a refusal, or when it was renewed), and cycles. */
  setToken(token: string | undefined): void {
    // The token the server refused, given again (a page answering the runner's request with
    // what it has): trying it would only be refused again.
    if (this.#awaitingToken && this.#refusedToken !== undefined && token === this.#refusedToken) return;
    this.#token = token;
    this.#awaitingToken = false;
    this.#poke();
  }

  /** Stops: the cycle in progress finishes its step; nothing else starts. */
  async stop(): Promise<void> {
    this.#stop.abort();
    this.#stopListening();
    const g = globalThis as { removeEventListener?: (type: string, fn: () => void) => void };
    g.removeEventListener?.('online', this.#online);
    g.removeEventListener?.('offline', this.#offline);
    this.#wake?.();
    await this.#loop?.catch(() => {});
    for (const w of this.#waiters.splice(0)) w.reject(new UnauthorizedError('Sync stopped'));
  }

  readonly #online = (): void => {
    this.#failures = 0;
    this.#poke();
  };

  readonly #offline = (): void => this.#report({ state: 'offline' });

  #poke(local = false): void {
    this.#dirty = true;
    if (local) this.#localFirst = true;
    this.#wake?.();
  }

  async #run(): Promise<void> {
    const signal = this.#stop.signal;
    while (!signal.aborted) {
      if (!this.#dirty) await this.#sleep(this.#awaitingToken ? Number.POSITIVE_INFINITY : (this.#options.interval ?? 30_000));
      if (signal.aborted) return;
      this.#dirty = false;
      const waiting = this.#waiters.splice(0);
      try {
        await this.#cycle();
        this.#failures = 0;
        this.#report({ state: 'idle', lastSyncedAt: Date.now() });
        for (const w of waiting) w.resolve();
      } catch (e) {
        const retry = await this.#failed(e);
        for (const w of waiting) w.reject(e);
        if (retry) await this.#backoff();
      }
    }
  }

  /** Reports a failure; true when it is to be retried after a backoff (a refused token waits for a new one instead). */
  async #failed(e: unknown): Promise<boolean> {
    const error = isCairnError(e) ? { code: e.code, message: e.message } : { code: 'INTERNAL', message: messageOf(e) };
    this.#failures++;
    const state = await this.#engine.syncState().catch(() => undefined);
    if (state !== undefined) this.#report({ pending: state.pending });
    if (isUnauthorized(e)) {
      this.#report({ state: 'error', error });
      this.#awaitingToken = true;
      this.#refusedToken = this.#token;
      this.#hooks.tokenNeeded();
      return false; // the next cycle starts when a token (or `now()`) comes
    }
    this.#report({ state: error.code === 'SYNC_UNAVAILABLE' ? 'offline' : 'error', error });
    return true;
  }

  /** Waits before the next try, doubling with each failure, with jitter; a poke cuts it short. */
  async #backoff(): Promise<void> {
    const delay = backoff(this.#failures - 1, 1000, MAX_BACKOFF) * (0.5 + Math.random() / 2);
    if (await this.#sleep(delay)) this.#dirty = true;
  }

  /** Waits `ms`, or until poked; true when the time ran out. */
  async #sleep(ms: number): Promise<boolean> {
    let poked = false;
    await Promise.race([
      Number.isFinite(ms) ? sleep(ms, this.#stop.signal) : new Promise<void>((resolve) => this.#stop.signal.addEventListener('abort', () => resolve(), { once: true })),
      new Promise<void>((resolve) => {
        this.#wake = () => {
          poked = true;
          resolve();
        };
      }),
    ]);
    this.#wake = undefined;
    return !poked;
  }

  async #cycle(): Promise<void> {
    this.#report({ state: 'syncing' });
    // Pulling first means fewer local writes placed after the server's events; after a local
    // write, pushing first halves the time it takes to reach the other devices.
    const localFirst = this.#localFirst;
    this.#localFirst = false;
    if (!localFirst) await this.#pullAll();
    if ((await this.#pushAll()) || localFirst) await this.#pullAll();
    const state = await this.#engine.syncState();
    this.#report({ pending: state.pending });
  }

  /**
   * Pulls until the server has nothing more. The next page is asked for as soon as a page
   * arrives (its cursor says where the next starts), so the server reads it while this
   * device applies the one before: catching up costs the slower of the two, not their sum.
   */
  async #pullAll(): Promise<void> {
    const filter =
      this.#options.filter?.categories !== undefined || this.#options.filter?.streams !== undefined ? { filter: this.#options.filter } : {};
    const fetchPage = (cursor: string | null) => this.#transport.pull({ cursor, limit: PULL_LIMIT, ...filter });
    let next = fetchPage((await this.#engine.syncState()).cursor);
    for (;;) {
      const page = await next;
      if (page.more) {
        next = fetchPage(page.cursor);
        // Settled here if the apply below fails first: its failure is the one to report.
        next.catch(() => {});
      }
      const outcome = await this.#engine.applyPulled(page.events.map(remoteEvent), page.cursor);
      const last = page.events.at(-1);
      if (last !== undefined) this.#report({ serverPosition: Math.max(this.#status.serverPosition ?? 0, last.serverPosition) });
      if (outcome.conflicts.length > 0) this.#hooks.conflicts(outcome.conflicts);
      if (!page.more) return;
    }
  }

  /** Pushes the outbox, oldest first; true if anything was pushed. */
  async #pushAll(): Promise<boolean> {
    let pushed = false;
    // Entries per push: halved while the server refuses pushes whole, to find the write at fault.
    let most = Number.POSITIVE_INFINITY;
    for (;;) {
      const entries = await this.#engine.outbox(PUSH_ENTRIES);
      if (entries.length === 0) return pushed;
      const chunk = this.#fit(entries).slice(0, most);
      const lone = chunk.length === 1 ? chunk[0]! : undefined;
      const oversize = lone === undefined ? undefined : this.#oversize(lone.appends);
      if (lone !== undefined && oversize !== undefined) {
        await this.#engine.outboxPushed([{ seq: lone.seq, refusal: oversize }]);
        pushed = true;
        continue;
      }
      let response: PushResponse;
      try {
        response = await this.#transport.push({ client: this.#client, batches: chunk.map((e): PushBatch => ({ appends: e.appends })) });
      } catch (e) {
        if (!refusesContent(e)) throw e;
        if (lone === undefined) {
          most = Math.ceil(chunk.length / 2);
          continue;
        }
        await this.#engine.outboxPushed([{ seq: lone.seq, refusal: { kind: 'rejected', code: e.code, message: e.message } }]);
        pushed = true;
        most = Number.POSITIVE_INFINITY;
        continue;
      }
      await this.#engine.outboxPushed(chunk.map((e, i) => ({ seq: e.seq, refusal: refusalOf(response.results[i]!) })));
      pushed = true;
    }
  }

  /** The first entries whose push fits the server's body and event limits (at least one). */
  #fit<T extends { appends: OutboxAppend[] }>(entries: readonly T[]): T[] {
    const limit = this.#maxBodyBytes() * 0.9;
    let size = 200;
    let events = 0;
    const out: T[] = [];
    for (const e of entries) {
      size += JSON.stringify(e.appends).length * 3;
      for (const append of e.appends) events += append.events.length;
      if (out.length > 0 && (size > limit || events > MAX_PUSH_EVENTS)) break;
      out.push(e);
    }
    return out;
  }

  /** Why one write cannot be pushed at all (its push would be past the server's body limit), or undefined. */
  #oversize(appends: OutboxAppend[]): Refusal | undefined {
    const limit = this.#maxBodyBytes();
    const text = JSON.stringify({ client: this.#client, batches: [{ appends }] });
    // Cheap bounds first: a UTF-8 byte per UTF-16 unit at least, three at most.
    if (text.length * 3 <= limit) return undefined;
    const bytes = text.length > limit ? text.length : new TextEncoder().encode(text).length;
    if (bytes <= limit) return undefined;
    return {
      kind: 'rejected',
      code: ErrorCode.SYNC_REJECTED,
      message: `This write is ${bytes} bytes as a push, more than the sync server takes in one (${limit}); it was not sent`,
    };
  }

  #maxBodyBytes(): number {
    return this.#options.maxBodyBytes ?? DEFAULT_MAX_BODY_BYTES;
  }

  /** Opens the live stream and pokes on each poke; reconnects with backoff for as long as the runner runs. */
  async #live(): Promise<void> {
    const signal = this.#stop.signal;
    for (let attempt = 0; !signal.aborted; attempt++) {
      try {
        for await (const e of this.#transport.live(signal)) {
          attempt = 0;
          if (e.event === 'poke' || e.event === 'ready') this.#poke();
        }
      } catch {
        // Out of reach, or a refused token: the cycles report it; keep trying quietly.
      }
      await sleep(backoff(attempt, 1000, MAX_BACKOFF), signal);
    }
  }

  #report(change: Partial<SyncStatus>): void {
    const next: SyncStatus = { ...this.#status, ...change };
    // A failure is reported for as long as it lasts: until the runner is syncing again.
    if (change.state === 'syncing' || change.state === 'idle') delete next.error;
    this.#status = next;
    this.#hooks.status(next);
  }
}

/**
 * True for a push refused whole for what it carries, which sending it again would not
 * change: a stream the device may not write, a body past the server's limit, an event or
 * stream the server finds invalid. Not for the push's framing (INVALID_ARGUMENT), which
 * every push would share.
 */
function refusesContent(e: unknown): e is CairnError {
  return isCairnError(e) && (e.code === ErrorCode.SYNC_REJECTED || e.code === ErrorCode.INVALID_EVENT || e.code === ErrorCode.INVALID_STREAM);
}

/** What the engine records of a batch's result. */
function refusalOf(result: PushBatchResult): Refusal | null {
  if (result.status === 'ok') return null;
  if (result.status === 'conflict') return { kind: 'conflict', stream: result.stream, expected: result.expected, actual: result.actual };
  const error: CairnError | { code: string; message: string } = result.error;
  return { kind: 'rejected', code: error.code, message: error.message };
}

function remoteEvent(e: ServerEvent): RemoteEvent {
  return {
    id: e.id,
    stream: e.stream,
    version: e.version,
    type: e.type,
    data: e.data,
    metadata: e.metadata,
    routingKey: e.routingKey,
    schemaVersion: e.schemaVersion,
    timestamp: e.timestamp,
    serverPosition: e.serverPosition,
  };
}
