/**
 * The local half of sync: what the engine does with its own writes and with what a pull
 * brings. The network half (pushing, pulling, waiting) is `src/sync/client.ts`.
 *
 * The device's log is kept as [events the server confirmed, in the server's order] followed
 * by [local events the server has not confirmed yet, in the order they were made] (the
 * tail). Every local write to a synced stream is also queued in the outbox
 * (`sync-log.ts`), with a changeset of what it did (its events and its projections' rows).
 *
 * Applying a pull:
 * - With no tail, the server's events are simply appended, confirmed.
 * - When the pull brings the tail's own events back, in order and at the versions the device
 *   gave them, they are only marked confirmed: the common case of a device that pushed
 *   while no one else wrote.
 * - Otherwise (another device's events must go before the tail, or the server refused a
 *   tail write) the tail is taken out of the log: its changesets are undone, newest first,
 *   which removes its events and what the projections made of them; the server's events go
 *   in; then each tail write is placed again, after them, at new versions and positions
 *   (positions are never reused), unless its expected version no longer holds: then it is a
 *   conflict of that stream, kept in `cairn_conflicts` and no longer in the log. A write
 *   that conflicts takes with it the later writes of its stream that expected an exact
 *   version (they were decided on top of it); `'any'` writes stay.
 * - If the undo cannot be exact (a row changed since, a projection table without a primary
 *   key, a projection that was built meanwhile), the tail's events are deleted instead and
 *   the projections concerned are rebuilt from the log: slower, the same result.
 * So every device ends with the server's events of each stream, at the server's versions,
 * and projections equal to a rebuild from that log.
 */
import { categoryOf, createIdFactory } from './encode.ts';
import type { SqlDriver } from './driver.ts';
import { InvalidArgumentError } from './errors.ts';
import {
  appendEvents,
  confirmEvent,
  deleteEvents,
  insertRemote,
  insertRemoteBatch,
  storedEvent,
  streamVersion,
  type RemoteEvent,
} from './event-log.ts';
import type { ProjectionRunner } from './projection.ts';
import type { AppendRequest, StoredEvent } from './records.ts';
import {
  addConflict,
  addToOutbox,
  markPushed,
  readMeta,
  readOutbox,
  removeFromOutbox,
  replaceChanges,
  storedFilter,
  syncs,
  toRequest,
  undoable,
  writeMeta,
  type OutboxAppend,
  type OutboxCommand,
  type OutboxEntry,
  type Refusal,
} from './sync-log.ts';
import type { ExpectedVersion, SyncFilter } from './types.ts';

/** What applying one pull did. */
export interface PullOutcome {
  /** Events of other devices appended. */
  inserted: number;
  /** Local events the server confirmed. */
  confirmed: number;
  /** The ids of the conflicts it found. */
  conflicts: number[];
  /** Whether the tail had to be taken out and placed again. */
  rewound: boolean;
  /** The projections that are being rebuilt from the log. */
  rebuilding: string[];
}

/** The engine's sync state over one connection. */
export class LocalSync {
  readonly #db: SqlDriver;
  readonly #projections: ProjectionRunner;
  #filter: SyncFilter | undefined;
  #queued = false;

  constructor(db: SqlDriver, projections: ProjectionRunner) {
    this.#db = db;
    this.#projections = projections;
    this.#filter = storedFilter(db);
  }

  /** True once sync has been opened on this store: local writes to synced streams are queued. */
  get active(): boolean {
    return this.#filter !== undefined;
  }

  /** True when local writes to `stream` are synced (and so must go through the outbox). */
  covers(stream: string): boolean {
    return this.active && this.#syncs(stream);
  }

  /** Reads what is cached back from the database, after a transaction was lost. */
  reload(): void {
    this.#filter = storedFilter(this.#db);
  }

  /** Starts syncing (or goes on): gives the device an id if it has none, and records the filter. */
  open(filter: SyncFilter): string {
    if (this.#db.changes === undefined) {
      throw new InvalidArgumentError("This store's SQL driver cannot capture changes (SQLite's session extension), which sync needs");
    }
    let client = readMeta(this.#db, 'sync.client');
    if (client === null) {
      client = createIdFactory()();
      writeMeta(this.#db, 'sync.client', client);
    }
    writeMeta(this.#db, 'sync.filter', JSON.stringify(filter));
    this.#filter = filter;
    return client;
  }

  /**
   * Runs a local write (`appendOne` for each request), queuing it in the outbox with the
   * undo of what it did when it wrote to a synced stream.
   */
  write<T>(reqs: readonly AppendRequest[], at: number, command: OutboxCommand | null, run: () => { result: T; inserted: StoredEvent[][] }): T {
    const changes = this.#db.changes;
    if (!this.active || changes === undefined || !reqs.some((r) => this.#syncs(r.stream))) return run().result;
    const ready = this.#projections.readyNames();
    const { result: done, changeset } = changes.record(run, undoable);
    const appends: OutboxAppend[] = [];
    reqs.forEach((req, i) => {
      // A retried append that was already stored wrote nothing: nothing of it to push.
      if ((done.inserted[i] ?? []).length === 0) return;
      appends.push({ ...outboxAppend(req, at), ...(this.#syncs(req.stream) ? {} : { local: true }) });
    });
    if (appends.some((a) => a.local !== true)) {
      addToOutbox(this.#db, appends, command, changeset, ready);
      this.#queued = true;
    }
    return done.result;
  }

  /** Whether the last local write queued something for the server (and forgets it). */
  takeQueued(): boolean {
    const queued = this.#queued;
    this.#queued = false;
    return queued;
  }

  /** Records the server's answers to a push. */
  pushed(outcomes: readonly { seq: number; refusal: Refusal | null }[]): void {
    for (const o of outcomes) markPushed(this.#db, o.seq, o.refusal);
  }

  /** Applies one page of a pull, then moves the cursor past it. */
  applyPulled(events: readonly RemoteEvent[], cursor: string, at: number): PullOutcome {
    const tail = readOutbox(this.#db);
    const outcome =
      tail.length === 0
        ? { inserted: this.#insertAll(events), confirmed: 0, conflicts: [], rewound: false, rebuilding: [] }
        : (this.#confirmInOrder(tail, events) ?? this.#rewind(tail, events, at));
    writeMeta(this.#db, 'sync.cursor', cursor);
    return outcome;
  }

  #syncs(stream: string): boolean {
    return syncs(this.#filter, stream, categoryOf(stream));
  }

  /** Appends the server's events, skipping any already here (confirmed); returns how many went in. */
  #insertAll(events: readonly RemoteEvent[]): number {
    const inserted = insertRemoteBatch(this.#db, events);
    this.#projections.apply(inserted);
    return inserted.length;
  }

  /**
   * The pull holds only the tail's own events, in the tail's order, at the versions the
   * device gave them: mark them confirmed, and drop the entries now wholly confirmed.
   * Undefined when that is not so.
   */
  #confirmInOrder(tail: readonly OutboxEntry[], events: readonly RemoteEvent[]): PullOutcome | undefined {
    if (tail.some((t) => t.refused !== null)) return undefined;
    const pending = unconfirmed(this.#db, tail);
    let i = 0;
    for (const e of events) {
      const local = storedEvent(this.#db, e.id);
      if (local?.serverPosition != null) continue; // confirmed by an earlier page
      if (pending[i]?.id !== e.id || local === undefined || local.version !== e.version || local.stream !== e.stream) return undefined;
      i++;
    }
    for (const e of events) confirmEvent(this.#db, e.id, e.serverPosition);
    for (const entry of tail) {
      if (entry.appends.every((a) => a.local === true || a.events.every((e) => storedEvent(this.#db, e.id)?.serverPosition != null))) {
        removeFromOutbox(this.#db, entry.seq);
      }
    }
    return { inserted: 0, confirmed: i, conflicts: [], rewound: false, rebuilding: [] };
  }

  /** Takes the tail out, appends the server's events, and places the tail again after them. */
  #rewind(tail: readonly OutboxEntry[], events: readonly RemoteEvent[], at: number): PullOutcome {
    const db = this.#db;
    // Events of the tail that earlier pages confirmed go back first, as confirmed, in their order.
    const earlier = confirmedEarlier(db, tail);
    for (const e of earlier) db.run('UPDATE events SET server_position = NULL WHERE id = ?', [e.id]);
    const rebuild = new Set(this.#lift(tail));
    for (const e of earlier) this.#projections.apply([insertRemote(db, e)]);
    const page = new Set(events.map((e) => e.id));
    const inserted = this.#insertAll(events);
    const outcome = this.#placeAgain(tail, page, at);
    const restart = [...rebuild];
    if (restart.length > 0) this.#projections.restart(restart);
    for (const stream of new Set(tail.flatMap((t) => t.appends.map((a) => a.stream)))) {
      // A snapshot of a stream whose tail moved may stand on events no longer where they were.
      db.run('DELETE FROM snapshots WHERE stream = ?', [stream]);
    }
    return { inserted, confirmed: earlier.length + outcome.confirmed, conflicts: outcome.conflicts, rewound: true, rebuilding: restart };
  }

  /**
   * Undoes the tail's changesets, newest first; where that cannot be exact, deletes the
   * tail's events instead. Returns the projections that must be rebuilt.
   */
  #lift(tail: readonly OutboxEntry[]): string[] {
    const db = this.#db;
    const { exact, rebuild } = this.#projections.undoable();
    // A projection that became ready after a tail write was made has no rows in its changeset.
    const covered = exact.filter((name) => tail.every((t) => t.ready.includes(name)));
    db.run('SAVEPOINT lift');
    const undone = db.changes?.undo(tail.map((t) => t.changes)) ?? false;
    if (undone) {
      db.run('RELEASE lift');
      return [...rebuild, ...exact.filter((name) => !covered.includes(name))];
    }
    db.run('ROLLBACK TO lift');
    db.run('RELEASE lift');
    deleteEvents(db, tail.flatMap((t) => t.appends.flatMap((a) => a.events.map((e) => e.id))));
    return this.#projections.names();
  }

  /** Places each tail write again, in order, or records it as a conflict. */
  #placeAgain(tail: readonly OutboxEntry[], page: ReadonlySet<string>, at: number): { confirmed: number; conflicts: number[] } {
    const db = this.#db;
    const conflicted = new Set<string>();
    const conflicts: number[] = [];
    let confirmed = 0;
    for (const entry of tail) {
      const rest = entry.appends
        .map((a) => ({ ...a, events: a.events.filter((e) => !page.has(e.id)) }))
        .filter((a) => a.events.length > 0);
      confirmed += entry.appends.reduce((n, a) => n + a.events.filter((e) => page.has(e.id)).length, 0);
      if (rest.every((a) => a.local === true)) {
        // Wholly confirmed by this pull (its local-only parts, if any, go back as they were).
        this.#append(rest);
        removeFromOutbox(db, entry.seq);
        continue;
      }
      const refusal = entry.refused ?? (entry.pushed ? null : this.#conflictOf(rest, conflicted));
      if (refusal !== null) {
        const stream = refusal.kind === 'conflict' ? refusal.stream : rest[0]!.stream;
        for (const a of rest) if (a.expectedVersion !== 'any' || refusal.kind === 'rejected') conflicted.add(a.stream);
        conflicted.add(stream);
        const reason = refusal.kind === 'conflict' ? 'conflict' : `rejected: ${refusal.code}: ${refusal.message}`;
        const expected = refusal.kind === 'conflict' ? refusal.expected : (rest[0]!.expectedVersion as ExpectedVersion);
        conflicts.push(addConflict(db, { ...entry, appends: rest }, stream, expected, streamVersion(db, stream), reason, at));
        removeFromOutbox(db, entry.seq);
        continue;
      }
      const ready = this.#projections.readyNames();
      const { changeset } = db.changes!.record(() => this.#append(rest), undoable);
      replaceChanges(db, entry.seq, changeset, ready);
    }
    return { confirmed, conflicts };
  }

  /** Why a write not pushed yet no longer fits the log, or null when it still does. */
  #conflictOf(appends: readonly OutboxAppend[], conflicted: ReadonlySet<string>): Refusal | null {
    for (const a of appends) {
      if (a.local === true) continue;
      const actual = streamVersion(this.#db, a.stream);
      const holds =
        a.expectedVersion === 'any' ||
        (!conflicted.has(a.stream) &&
          (a.expectedVersion === 'no_stream' ? actual === 0 : a.expectedVersion === 'stream_exists' ? actual > 0 : a.expectedVersion === actual));
      if (!holds) return { kind: 'conflict', stream: a.stream, expected: a.expectedVersion, actual };
    }
    return null;
  }

  /** Appends a write's events again after what the log holds now (their checks were made already). */
  #append(appends: readonly OutboxAppend[]): { result: null; inserted: StoredEvent[][] } {
    const inserted: StoredEvent[][] = [];
    for (const a of appends) {
      const rows: StoredEvent[] = [];
      appendEvents(this.#db, { ...toRequest(a), expectedVersion: 'any' }, a.events[0]!.timestamp, rows);
      this.#projections.apply(rows);
      inserted.push(rows);
    }
    return { result: null, inserted };
  }
}

/** An append as an outbox entry keeps it. */
function outboxAppend(req: AppendRequest, at: number): OutboxAppend {
  return {
    stream: req.stream,
    expectedVersion: req.expectedVersion,
    routingKey: req.routingKey,
    events: req.events.map((e) => ({ ...e, timestamp: at })),
  };
}

/** The tail's events the server has not confirmed, in the tail's order. */
function unconfirmed(db: SqlDriver, tail: readonly OutboxEntry[]): { id: string }[] {
  const out: { id: string }[] = [];
  for (const entry of tail) {
    for (const a of entry.appends) {
      if (a.local === true) continue;
      for (const e of a.events) if (storedEvent(db, e.id)?.serverPosition == null) out.push(e);
    }
  }
  return out;
}

/** The tail's events that earlier pulls confirmed, as the server has them, in the server's order. */
function confirmedEarlier(db: SqlDriver, tail: readonly OutboxEntry[]): RemoteEvent[] {
  const out: RemoteEvent[] = [];
  for (const entry of tail) {
    for (const a of entry.appends) {
      for (const e of a.events) {
        const row = db.get<{ version: number; server_position: number | null }>('SELECT version, server_position FROM events WHERE id = ?', [e.id]);
        if (row?.server_position == null) continue;
        out.push({
          id: e.id, stream: a.stream, version: Number(row.version), type: e.type, data: e.data, metadata: e.metadata,
          routingKey: a.routingKey, schemaVersion: e.schemaVersion, timestamp: e.timestamp, serverPosition: Number(row.server_position),
        });
      }
    }
  }
  return out;
}
