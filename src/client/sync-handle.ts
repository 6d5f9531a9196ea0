/**
 * `store.sync`: where the store's sync stands, and what the app can do about it. The sync
 * itself runs in the leader's worker (or in-process); this is the page's view of it.
 *
 * - `status` is the last status the runner reported (pushed to every tab), `onStatus` tells
 *   each change.
 * - A conflict is a local write the server refused because its stream had moved on: it is
 *   kept, out of the log, with the server's events of that stream, until the app resolves
 *   it: `rebase` appends its events again after the server's, `discard` drops them.
 * - Aggregates defined with `onConflict: 'redecide'` decide their refused commands again on
 *   the server's state, by themselves; `onRedecided` tells how each went.
 * - The user's token is asked of the page whenever the runner needs one (at the start, and
 *   when the server refused the last).
 */
import { decodeEvent } from '../core/encode.ts';
import { InvalidArgumentError, messageOf } from '../core/errors.ts';
import type { ConflictRecord } from '../core/engine.ts';
import type { SyncStatus } from '../protocol/api.ts';
import type { AppendResult, Metadata, RecordedEvent } from '../core/types.ts';
import { acquireLock } from './locks.ts';
import type { Backend, Feed } from './ports.ts';

/** An event of a conflicted local write. */
export interface ConflictEvent {
  id: string;
  type: string;
  data: unknown;
  metadata: Metadata;
  schemaVersion: number;
  timestamp: number;
}

/** A local write the server refused, as the app sees it. */
export interface Conflict {
  id: number;
  stream: string;
  /** What the write expected of its stream. */
  expectedVersion: number | 'any' | 'no_stream' | 'stream_exists';
  /** The write's events (of every stream of it, for an appendMany). */
  events: ConflictEvent[];
  /** The streams of the write and their events, when it was an appendMany. */
  appends: { stream: string; events: ConflictEvent[] }[];
  /** The server's version of the stream when the conflict was found. */
  serverVersion: number;
  /** The server's events of the stream that the write did not expect. */
  serverEvents: RecordedEvent[];
  /** `conflict`, or why the server rejected the write otherwise. */
  reason: string;
  /** The aggregate command the write was decided from, if an aggregate made it. */
  command: { category: string; id: string; command: unknown; commandId: string } | null;
  /** When it was found (ms since the epoch). */
  at: number;
}

/** How a conflict's command was decided again. */
export interface Redecided {
  conflict: Conflict;
  /** The events of the new decision, when it succeeded. */
  events?: unknown[];
  /** Why it failed (a domain error of `decide`, another conflict...); the conflict is kept then. */
  error?: unknown;
}

/** What the handle needs of the store. */
export interface SyncPorts {
  backend: Backend;
  onStatus: Feed<SyncStatus>;
  onConflicts: Feed<number[]>;
  onTokenNeeded: Feed<null>;
  /** The app's token function, if it gave one. */
  token?: () => string | undefined | Promise<string | undefined>;
  /** Decides a conflict's command again, when an aggregate of its category asked to. */
  redecide(conflict: Conflict): Promise<unknown[] | undefined>;
  /** The lock that lets one tab at a time decide conflicts again (every tab hears of them). */
  lockName: string;
  /** Aborted when the store closes. */
  signal: AbortSignal;
}

/** The page's view of the store's sync. */
export class StoreSync {
  readonly #ports: SyncPorts;
  #status: SyncStatus;
  readonly #statusListeners = new Set<(status: SyncStatus) => void>();
  readonly #conflictListeners = new Set<(conflicts: Conflict[]) => void>();
  readonly #redecidedListeners = new Set<(outcome: Redecided) => void>();

  constructor(ports: SyncPorts, initial: SyncStatus) {
    this.#ports = ports;
    this.#status = initial;
    ports.onStatus((status) => {
      this.#status = status;
      for (const l of this.#statusListeners) l(status);
    });
    ports.onConflicts((ids) => void this.#found(new Set(ids)));
    ports.onTokenNeeded(() => void this.#giveToken());
    if (initial.state === 'disabled') return;
    // Chromium fires `online` on the page only, not in its dedicated workers (seen with its
    // network emulation, which Playwright's setOffline uses), and the runner runs in the
    // leader's worker: the page passes it on, so sync resumes at once, not after its backoff.
    if (typeof window !== 'undefined' && typeof window.addEventListener === 'function') {
      const online = (): void => void ports.backend.syncNow().catch(() => {});
      window.addEventListener('online', online);
      ports.signal.addEventListener('abort', () => window.removeEventListener('online', online), { once: true });
    }
    // The runner asked for a token while the store was opening, before anyone listened.
    void this.#giveToken();
    // Conflicts left from an earlier session: told (and decided again) once the app, which
    // is still defining its listeners and aggregates, is done with this task.
    const timer = setTimeout(() => void this.#found(undefined), 0);
    ports.signal.addEventListener('abort', () => clearTimeout(timer), { once: true });
  }

  /** Where sync stands: `disabled` (the store does not sync), `offline`, `connecting`, `syncing`, `idle` or `error`. */
  get status(): SyncStatus {
    return this.#status;
  }

  /** Calls `listener` on every change of status; returns a function that stops it. */
  onStatus(listener: (status: SyncStatus) => void): () => void {
    this.#statusListeners.add(listener);
    return () => void this.#statusListeners.delete(listener);
  }

  /** Pushes what is pending and pulls what is new; resolves when caught up, rejects with what failed. */
  async now(): Promise<void> {
    // A token that was refused may have been renewed since: give the current one first.
    if (this.#status.error?.code === 'UNAUTHORIZED') await this.#giveToken();
    return this.#ports.backend.syncNow();
  }

  /** The local writes the server refused, oldest first. */
  async conflicts(): Promise<Conflict[]> {
    return (await this.#ports.backend.conflicts()).map(toConflict);
  }

  /** `rebase`: append the conflict's events again after the server's; `discard`: drop them. */
  async resolve(id: number, resolution: 'rebase' | 'discard'): Promise<AppendResult[]> {
    if (resolution !== 'rebase' && resolution !== 'discard') throw new InvalidArgumentError("resolve takes 'rebase' or 'discard'");
    return this.#ports.backend.resolveConflict(id, resolution);
  }

  /**
   * Calls `listener` with the conflicts found each time some are, and once just after the
   * store opens with those still listed from before; returns a function that stops it.
   */
  onConflict(listener: (conflicts: Conflict[]) => void): () => void {
    this.#conflictListeners.add(listener);
    return () => void this.#conflictListeners.delete(listener);
  }

  /** Calls `listener` each time an aggregate decided a conflict's command again; returns a function that stops it. */
  onRedecided(listener: (outcome: Redecided) => void): () => void {
    this.#redecidedListeners.add(listener);
    return () => void this.#redecidedListeners.delete(listener);
  }

  /** Tells the listeners of the conflicts `ids` (all listed ones if undefined), then decides them again. */
  async #found(ids: Set<number> | undefined): Promise<void> {
    const listed = await this.conflicts().catch(() => []);
    const found = ids === undefined ? listed : listed.filter((c) => ids.has(c.id));
    if (found.length === 0) return;
    for (const l of this.#conflictListeners) l(found);
    if (found.some((c) => c.command !== null)) await this.#redecideAll(new Set(found.map((c) => c.id)));
  }

  /**
   * Decides the commands of the conflicts `ids` again, one tab at a time: each tab hears of
   * every conflict, and the one that takes the lock second finds them resolved.
   */
  async #redecideAll(ids: Set<number>): Promise<void> {
    const release = await acquireLock(this.#ports.lockName, this.#ports.signal).catch(() => undefined);
    if (release === undefined) return;
    try {
      const still = (await this.conflicts()).filter((c) => ids.has(c.id));
      for (const conflict of still) {
        let events: unknown[] | undefined;
        try {
          events = await this.#ports.redecide(conflict);
        } catch (error) {
          for (const l of this.#redecidedListeners) l({ conflict, error });
          continue;
        }
        if (events === undefined) continue;
        for (const l of this.#redecidedListeners) l({ conflict, events });
      }
    } catch {
      // The store closed meanwhile: the next session decides what is left.
    } finally {
      release();
    }
  }

  async #giveToken(): Promise<void> {
    const token = this.#ports.token;
    if (token === undefined) return;
    try {
      const value = await token();
      await this.#ports.backend.syncToken(value ?? null);
    } catch (e) {
      console.warn(`Cairn sync: the token function failed: ${messageOf(e)}`);
    }
  }
}

function toConflict(c: ConflictRecord): Conflict {
  const appends = c.appends.map((a) => ({
    stream: a.stream,
    events: a.events.map((e) => ({
      id: e.id,
      type: e.type,
      data: JSON.parse(e.data) as unknown,
      metadata: e.metadata === null ? {} : (JSON.parse(e.metadata) as Metadata),
      schemaVersion: e.schemaVersion,
      timestamp: e.timestamp,
    })),
  }));
  return {
    id: c.id,
    stream: c.stream,
    expectedVersion: c.expected,
    events: appends.flatMap((a) => a.events),
    appends,
    serverVersion: c.serverVersion,
    serverEvents: c.serverEvents.map(decodeEvent),
    reason: c.reason,
    command: c.command,
    at: c.at,
  };
}
