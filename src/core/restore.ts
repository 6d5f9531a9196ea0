/**
 * Opening a store from a backup (`openStore({ name, restore: bytes })`): what is checked
 * before anything is replaced. The bytes must be a sound SQLite database of Cairn's schema,
 * no newer than this code; and the store they replace must hold no events, unless the
 * caller said `overwrite: true` (a restore never silently discards a store's events).
 */
import type { Database, Sqlite3Static } from '@sqlite.org/sqlite-wasm';
import { InvalidArgumentError } from './errors.ts';
import { SCHEMA_VERSION } from './schema.ts';
import { isDatabaseImage, loadDatabase } from './sqlite-wasm-changes.ts';

/** What to restore, and whether it may replace a store that holds events. */
export interface RestoreRequest {
  bytes: Uint8Array;
  overwrite: boolean;
}

/** Checks that `bytes` is a backup this code can open; INVALID_ARGUMENT saying why if not. */
export function checkBackup(sqlite3: Sqlite3Static, bytes: Uint8Array): void {
  if (!isDatabaseImage(bytes)) throw new InvalidArgumentError('restore needs a SQLite database file, as store.backup() returns');
  const db = new sqlite3.oo1.DB(':memory:', 'c');
  try {
    loadDatabase(sqlite3, db, [bytes.slice()]);
    const check = String(db.selectValue('PRAGMA quick_check'));
    if (check !== 'ok') throw new InvalidArgumentError(`The backup is damaged: ${check}`);
    const version = Number(db.selectValue('PRAGMA user_version'));
    if (version > SCHEMA_VERSION) {
      throw new InvalidArgumentError(`The backup has schema version ${version}, newer than this Cairn knows (${SCHEMA_VERSION})`);
    }
    if (version >= 1 && db.selectValue("SELECT name FROM sqlite_schema WHERE type = 'table' AND name = 'events'") === undefined) {
      throw new InvalidArgumentError('The backup is not a Cairn store: it has no events table');
    }
  } catch (e) {
    if (e instanceof InvalidArgumentError) throw e;
    throw new InvalidArgumentError(`The backup cannot be opened: ${String(e)}`, { cause: e });
  } finally {
    db.close();
  }
}

/** Refuses to restore over `name` when its database holds events and `overwrite` is not set. */
export function checkRestoreTarget(db: Database, name: string, overwrite: boolean): void {
  if (overwrite) return;
  const hasEvents = db.selectValue("SELECT name FROM sqlite_schema WHERE type = 'table' AND name = 'events'") !== undefined;
  const count = hasEvents ? Number(db.selectValue('SELECT count(*) FROM events')) : 0;
  if (count > 0) {
    throw new InvalidArgumentError(
      `The store "${name}" already holds ${count} events: restoring a backup over it would discard them. Pass overwrite: true to replace it, or restore under another name`,
    );
  }
}
