/**
 * The local side of sync, as stored: the device's id and pull cursor (`cairn_meta`), the
 * outbox of local writes the server does not have yet (`cairn_outbox`), and the conflicts
 * the server refused (`cairn_conflicts`). Everything here is synchronous SQL that runs
 * inside the engine's transactions; `reconcile.ts` decides what to do with a pull.
 *
 * An outbox entry is one local write (an `append`, or an `appendMany` across streams): one
 * batch of the push protocol, atomic on the server. It keeps what it needs to be pushed
 * (its events, encoded, with their timestamps), to be placed again after the server's
 * events (its options), to be decided again (the aggregate command that made it, if any),
 * and to be taken out of the log (the changeset of what it did locally).
 */
import type { SqlDriver } from './driver.ts';
import type { AppendRequest, EncodedEvent } from './records.ts';
import type { ExpectedVersion, SyncFilter } from './types.ts';

/** An event as an outbox entry holds it: encoded, with the time it was appended. */
export interface OutboxEvent extends EncodedEvent {
  timestamp: number;
}

/** One stream's part of an outbox entry. */
export interface OutboxAppend {
  stream: string;
  expectedVersion: ExpectedVersion;
  routingKey: string | null;
  events: OutboxEvent[];
  /** A part of the write to a stream the device does not sync: placed again with the rest, never pushed. */
  local?: boolean;
}

/** What made an outbox entry, when an aggregate did: enough to decide it again on the server's state. */
export interface OutboxCommand {
  category: string;
  id: string;
  command: unknown;
  commandId: string;
}

/** One local write waiting for the server. */
export interface OutboxEntry {
  seq: number;
  appends: OutboxAppend[];
  command: OutboxCommand | null;
  /** The undoing of what it did locally (empty when nothing was recorded). */
  changes: Uint8Array;
  /** The projections that were ready when it was made: only their changes are in `changes`. */
  ready: string[];
  /** The server has stored it (its events come back in a pull). */
  pushed: boolean;
  /** Why the server refused it, once it did. */
  refused: Refusal | null;
}

/** Why the server refused a batch: a version conflict on one stream, or an error. */
export type Refusal =
  | { kind: 'conflict'; stream: string; expected: ExpectedVersion; actual: number }
  | { kind: 'rejected'; code: string; message: string };

/** A local write the server refused, kept until the app resolves it. */
export interface StoredConflict {
  id: number;
  stream: string;
  expected: ExpectedVersion;
  serverVersion: number;
  appends: OutboxAppend[];
  command: OutboxCommand | null;
  reason: string;
  at: number;
}

/** The device's sync state. */
export interface SyncLocalState {
  /** This device's id on the server; null until sync was first opened. */
  client: string | null;
  /** Where the next pull starts; null: the beginning. */
  cursor: string | null;
  /** Local writes the server does not have confirmed yet. */
  pending: number;
  conflicts: number;
}

/** The tables Cairn keeps for itself, which a changeset of a local write leaves out. */
const BOOKKEEPING = new Set(['cairn_consumers', 'cairn_dead_letters', 'cairn_outbox', 'cairn_conflicts', 'cairn_meta', 'snapshots']);

/** True for the tables whose changes an outbox entry's undo holds: the log and the projections. */
export function undoable(table: string): boolean {
  const t = table.toLowerCase();
  return !BOOKKEEPING.has(t) && !t.startsWith('sqlite_');
}

/** Reads a meta value. */
export function readMeta(db: SqlDriver, key: string): string | null {
  return db.get<{ value: string }>('SELECT value FROM cairn_meta WHERE key = ?', [key])?.value ?? null;
}

/** Writes (or, with null, removes) a meta value. */
export function writeMeta(db: SqlDriver, key: string, value: string | null): void {
  if (value === null) db.run('DELETE FROM cairn_meta WHERE key = ?', [key]);
  else db.run('INSERT INTO cairn_meta (key, value) VALUES (?, ?) ON CONFLICT (key) DO UPDATE SET value = excluded.value', [key, value]);
}

/** The device's sync state. */
export function syncState(db: SqlDriver): SyncLocalState {
  return {
    client: readMeta(db, 'sync.client'),
    cursor: readMeta(db, 'sync.cursor'),
    pending: Number(db.get<{ n: number }>('SELECT count(*) AS n FROM cairn_outbox')?.n ?? 0),
    conflicts: Number(db.get<{ n: number }>('SELECT count(*) AS n FROM cairn_conflicts')?.n ?? 0),
  };
}

/** The filter this store syncs with, once sync was opened on it; undefined when it never was. */
export function storedFilter(db: SqlDriver): SyncFilter | undefined {
  const text = readMeta(db, 'sync.filter');
  return text === null ? undefined : (JSON.parse(text) as SyncFilter);
}

/** True when `stream` is one the device syncs. */
export function syncs(filter: SyncFilter | undefined, stream: string, category: string): boolean {
  if (filter === undefined) return false;
  if (filter.categories === undefined && filter.streams === undefined) return true;
  return (filter.categories?.includes(category) ?? false) || (filter.streams?.includes(stream) ?? false);
}

/** Queues a local write in the outbox. */
export function addToOutbox(db: SqlDriver, appends: OutboxAppend[], command: OutboxCommand | null, changes: Uint8Array, ready: string[]): void {
  db.run('INSERT INTO cairn_outbox (batch, command, changes, ready) VALUES (?, ?, ?, ?)', [
    JSON.stringify(appends),
    command === null ? null : JSON.stringify(command),
    changes,
    JSON.stringify(ready),
  ]);
}

/** The outbox, oldest first: every entry, or only those still to push. */
export function readOutbox(db: SqlDriver, toPush = false, limit = Number.MAX_SAFE_INTEGER): OutboxEntry[] {
  const columns = 'seq, batch, command, changes, ready, pushed, refused';
  const rows = db.all<{ seq: number; batch: string; command: string | null; changes: Uint8Array | null; ready: string; pushed: number; refused: string | null }>(
    toPush
      ? `SELECT ${columns} FROM cairn_outbox WHERE pushed = 0 AND refused IS NULL ORDER BY seq LIMIT ?`
      : `SELECT ${columns} FROM cairn_outbox ORDER BY seq LIMIT ?`,
    [limit],
  );
  return rows.map((r) => ({
    seq: Number(r.seq),
    appends: JSON.parse(r.batch) as OutboxAppend[],
    command: r.command === null ? null : (JSON.parse(r.command) as OutboxCommand),
    changes: r.changes ?? new Uint8Array(),
    ready: JSON.parse(r.ready) as string[],
    pushed: Number(r.pushed) === 1,
    refused: r.refused === null ? null : (JSON.parse(r.refused) as Refusal),
  }));
}

/** Records what the server said of a pushed entry. */
export function markPushed(db: SqlDriver, seq: number, refusal: Refusal | null): void {
  if (refusal === null) db.run('UPDATE cairn_outbox SET pushed = 1 WHERE seq = ?', [seq]);
  else db.run('UPDATE cairn_outbox SET refused = ? WHERE seq = ?', [JSON.stringify(refusal), seq]);
}

/** Replaces an entry's undo after it was placed again. */
export function replaceChanges(db: SqlDriver, seq: number, changes: Uint8Array, ready: string[]): void {
  db.run('UPDATE cairn_outbox SET changes = ?, ready = ? WHERE seq = ?', [changes, JSON.stringify(ready), seq]);
}

/** Removes an entry (confirmed by the server, or moved to the conflicts). */
export function removeFromOutbox(db: SqlDriver, seq: number): void {
  db.run('DELETE FROM cairn_outbox WHERE seq = ?', [seq]);
}

/** Records a refused entry as a conflict; returns its id. */
export function addConflict(db: SqlDriver, entry: OutboxEntry, stream: string, expected: ExpectedVersion, serverVersion: number, reason: string, at: number): number {
  return db.run(
    'INSERT INTO cairn_conflicts (stream, expected, server_version, batch, command, reason, at) VALUES (?, ?, ?, ?, ?, ?, ?)',
    [stream, JSON.stringify(expected), serverVersion, JSON.stringify(entry.appends), entry.command === null ? null : JSON.stringify(entry.command), reason, at],
  ).lastInsertRowid;
}

/** The conflicts, oldest first. */
export function readConflicts(db: SqlDriver): StoredConflict[] {
  return db
    .all<{ id: number; stream: string; expected: string; server_version: number; batch: string; command: string | null; reason: string; at: number }>(
      'SELECT id, stream, expected, server_version, batch, command, reason, at FROM cairn_conflicts ORDER BY id',
    )
    .map((r) => ({
      id: Number(r.id),
      stream: r.stream,
      expected: JSON.parse(r.expected) as ExpectedVersion,
      serverVersion: Number(r.server_version),
      appends: JSON.parse(r.batch) as OutboxAppend[],
      command: r.command === null ? null : (JSON.parse(r.command) as OutboxCommand),
      reason: r.reason,
      at: Number(r.at),
    }));
}

/** Removes a conflict; true if there was one. */
export function removeConflict(db: SqlDriver, id: number): boolean {
  return db.run('DELETE FROM cairn_conflicts WHERE id = ?', [id]).changes > 0;
}

/** An outbox append as the engine appends it. */
export function toRequest(a: OutboxAppend): AppendRequest {
  return {
    stream: a.stream,
    expectedVersion: a.expectedVersion,
    routingKey: a.routingKey,
    events: a.events.map(({ id, type, data, metadata, schemaVersion }) => ({ id, type, data, metadata, schemaVersion })),
  };
}
