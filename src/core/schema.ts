/**
 * The event log's schema and its migrations, keyed on `PRAGMA user_version`. Each
 * migration runs in its own transaction, so a store is never left half-migrated.
 */
import type { SqlDriver } from './driver.ts';
import { StorageUnavailableError } from './errors.ts';

/** Migrations in order; migration i brings user_version from i to i + 1. Never edit one that shipped. */
const MIGRATIONS: readonly string[] = [
  // 1: the log. `position` is the rowid, so it is the global order and the cursor.
  `CREATE TABLE events (
     position       INTEGER PRIMARY KEY,
     id             TEXT    NOT NULL,
     stream         TEXT    NOT NULL,
     category       TEXT    NOT NULL,
     version        INTEGER NOT NULL,
     type           TEXT    NOT NULL,
     data           TEXT    NOT NULL,
     metadata       TEXT,
     routing_key    TEXT,
     timestamp      INTEGER NOT NULL,
     schema_version INTEGER NOT NULL DEFAULT 1
   );
   CREATE UNIQUE INDEX events_id ON events (id);
   CREATE UNIQUE INDEX events_stream ON events (stream, version);
   CREATE INDEX events_category ON events (category, position);
   CREATE INDEX events_type ON events (type, position);
   CREATE INDEX events_routing_key ON events (routing_key, position) WHERE routing_key IS NOT NULL;`,
  // 2: aggregate snapshots, one per stream and evolve revision.
  `CREATE TABLE snapshots (
     stream    TEXT    NOT NULL,
     revision  INTEGER NOT NULL,
     version   INTEGER NOT NULL,
     state     TEXT    NOT NULL,
     timestamp INTEGER NOT NULL,
     PRIMARY KEY (stream, revision)
   ) WITHOUT ROWID;`,
  // 3: durable consumers' checkpoints and dead letters, and the state of each projection.
  `CREATE TABLE cairn_consumers (
     name       TEXT    PRIMARY KEY,
     position   INTEGER NOT NULL,
     updated_at INTEGER NOT NULL
   );
   CREATE TABLE cairn_dead_letters (
     id       INTEGER PRIMARY KEY,
     consumer TEXT    NOT NULL,
     position INTEGER NOT NULL,
     event_id TEXT    NOT NULL,
     error    TEXT    NOT NULL,
     attempts INTEGER NOT NULL,
     at       INTEGER NOT NULL,
     detail   TEXT
   );
   CREATE UNIQUE INDEX cairn_dead_letters_consumer ON cairn_dead_letters (consumer, position);
   CREATE TABLE cairn_projections (
     name     TEXT    PRIMARY KEY,
     version  INTEGER NOT NULL,
     state    TEXT    NOT NULL,
     position INTEGER NOT NULL,
     objects  TEXT    NOT NULL,
     error    TEXT
   );`,
  // 4: sync. The log is rebuilt with AUTOINCREMENT so that a position is never handed out
  // twice, even after pending local events are taken out of the log to be placed after the
  // server's (a follower's cursor may already be past them). Each event gains the position
  // the sync server gave it (null: not confirmed by the server). The outbox holds each local
  // write until the server has it, the conflicts what the server refused.
  `CREATE TABLE events_v4 (
     position        INTEGER PRIMARY KEY AUTOINCREMENT,
     id              TEXT    NOT NULL,
     stream          TEXT    NOT NULL,
     category        TEXT    NOT NULL,
     version         INTEGER NOT NULL,
     type            TEXT    NOT NULL,
     data            TEXT    NOT NULL,
     metadata        TEXT,
     routing_key     TEXT,
     timestamp       INTEGER NOT NULL,
     schema_version  INTEGER NOT NULL DEFAULT 1,
     server_position INTEGER
   );
   INSERT INTO events_v4 (position, id, stream, category, version, type, data, metadata, routing_key, timestamp, schema_version)
     SELECT position, id, stream, category, version, type, data, metadata, routing_key, timestamp, schema_version FROM events;
   DROP TABLE events;
   ALTER TABLE events_v4 RENAME TO events;
   CREATE UNIQUE INDEX events_id ON events (id);
   CREATE UNIQUE INDEX events_stream ON events (stream, version);
   CREATE INDEX events_category ON events (category, position);
   CREATE INDEX events_type ON events (type, position);
   CREATE INDEX events_routing_key ON events (routing_key, position) WHERE routing_key IS NOT NULL;
   CREATE TABLE cairn_meta (
     key   TEXT PRIMARY KEY,
     value TEXT NOT NULL
   ) WITHOUT ROWID;
   CREATE TABLE cairn_outbox (
     seq      INTEGER PRIMARY KEY,
     batch    TEXT    NOT NULL,
     command  TEXT,
     changes  BLOB,
     ready    TEXT    NOT NULL,
     pushed   INTEGER NOT NULL DEFAULT 0,
     refused  TEXT
   );
   CREATE TABLE cairn_conflicts (
     id             INTEGER PRIMARY KEY,
     stream         TEXT    NOT NULL,
     expected       TEXT    NOT NULL,
     server_version INTEGER NOT NULL,
     batch          TEXT    NOT NULL,
     command        TEXT,
     reason         TEXT    NOT NULL,
     at             INTEGER NOT NULL
   );`,
];

/** The schema version this code writes. */
export const SCHEMA_VERSION = MIGRATIONS.length;

/** Brings the database up to `SCHEMA_VERSION`. */
export function migrate(driver: SqlDriver): void {
  const current = Number(driver.get<{ user_version: number }>('PRAGMA user_version')?.user_version ?? 0);
  if (current > SCHEMA_VERSION) {
    throw new StorageUnavailableError(
      `The store's schema version ${current} is newer than this Cairn knows (${SCHEMA_VERSION}): it was written by a newer version of Cairn`,
    );
  }
  for (let v = current; v < SCHEMA_VERSION; v++) {
    driver.exec('BEGIN IMMEDIATE');
    try {
      driver.exec(MIGRATIONS[v]!);
      driver.exec(`PRAGMA user_version = ${v + 1}`);
      driver.exec('COMMIT');
    } catch (e) {
      driver.exec('ROLLBACK');
      throw e;
    }
  }
}
