/**
 * Aggregate snapshots: a stream's folded state at a version, keyed by the aggregate's
 * `revision` so that changing the evolve code (and its revision) leaves old snapshots unused.
 * A snapshot is only an optimisation; every caller can fall back to a full replay.
 */
import type { SqlDriver } from './driver.ts';
import { InvalidArgumentError } from './errors.ts';
import { readStreamEvents, streamVersion } from './event-log.ts';
import type { StoredEvent } from './records.ts';

/** A stored snapshot: the state (JSON text) after the event at `version`. */
export interface StoredSnapshot {
  version: number;
  state: string;
}

/** A stream as an aggregate loads it: its latest usable snapshot and the events after it. */
export interface AggregateLoad {
  snapshot: StoredSnapshot | null;
  events: StoredEvent[];
}

/** Reads the snapshot of `revision` (if it still matches the log) and the events after it. */
export function loadAggregate(db: SqlDriver, stream: string, revision: number | null): AggregateLoad {
  // A snapshot whose version the log does not have (a restored or edited database) is ignored.
  const snapshot =
    revision === null
      ? undefined
      : db.get<StoredSnapshot>(
          `SELECT s.version AS version, s.state AS state FROM snapshots s
           WHERE s.stream = ? AND s.revision = ?
             AND EXISTS (SELECT 1 FROM events e WHERE e.stream = s.stream AND e.version = s.version)`,
          [stream, revision],
        );
  return {
    snapshot: snapshot ?? null,
    events: readStreamEvents(db, stream, (snapshot?.version ?? 0) + 1, false, -1),
  };
}

/** Stores a snapshot, replacing older ones and those of other revisions. A newer one is kept. */
export function saveSnapshot(db: SqlDriver, stream: string, revision: number, version: number, state: string, now: number): void {
  if (!Number.isSafeInteger(revision) || !Number.isSafeInteger(version) || version < 1 || typeof state !== 'string') {
    throw new InvalidArgumentError('A snapshot needs an integer revision, a version >= 1 and JSON state');
  }
  try {
    JSON.parse(state);
  } catch {
    throw new InvalidArgumentError("A snapshot's state must be JSON text");
  }
  if (version > streamVersion(db, stream)) {
    throw new InvalidArgumentError(`Stream "${stream}" has no version ${version} to snapshot`);
  }
  db.run('DELETE FROM snapshots WHERE stream = ? AND revision <> ?', [stream, revision]);
  db.run(
    `INSERT INTO snapshots (stream, revision, version, state, timestamp) VALUES (?, ?, ?, ?, ?)
     ON CONFLICT (stream, revision) DO UPDATE SET version = excluded.version, state = excluded.state, timestamp = excluded.timestamp
     WHERE excluded.version > snapshots.version`,
    [stream, revision, version, state, now],
  );
}
