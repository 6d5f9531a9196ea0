/**
 * Importing recorded events into a store, as `store.import` sends them: each keeps its id,
 * stream, version, type, data, metadata, routing key, timestamp and schema version; only
 * its global position is this store's own (the next free one).
 *
 * - Idempotent by event id: an event already stored under the same id, in the same stream at
 *   the same version, is skipped, so importing the same file twice (or resuming a failed
 *   import) writes nothing the second time.
 * - A batch is one write: anything wrong with one of its events (an id used by another
 *   event, a version that does not follow its stream's) refuses the whole batch, naming the
 *   event by its index, and nothing of it is written.
 */
import type { SqlDriver } from './driver.ts';
import { categoryOf } from './encode.ts';
import { InvalidArgumentError, InvalidEventError } from './errors.ts';
import { streamVersion } from './event-log.ts';
import { MAX_EVENTS_PER_APPEND } from './limits.ts';
import type { EncodedEvent, StoredEvent } from './records.ts';
import { validateEncodedAppend, validateRoutingKey } from './validate.ts';

/** A recorded event on its way into a store, its data and metadata as JSON text. */
export interface ImportedEvent extends EncodedEvent {
  stream: string;
  version: number;
  routingKey: string | null;
  timestamp: number;
}

/** What an import did. */
export interface ImportResult {
  /** Events written. */
  imported: number;
  /** Events already there (same id, stream and version), left as they were. */
  skipped: number;
}

const INSERT =
  'INSERT INTO events (id, stream, category, version, type, data, metadata, routing_key, timestamp, schema_version) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)';

/** Checks a batch as the engine receives it (the worker is a trust boundary). */
export function validateImport(events: unknown, maxEventBytes: number): asserts events is ImportedEvent[] {
  if (!Array.isArray(events) || events.length === 0 || events.length > MAX_EVENTS_PER_APPEND) {
    throw new InvalidArgumentError(`An import batch is an array of 1 to ${MAX_EVENTS_PER_APPEND} events`);
  }
  events.forEach((e: Partial<ImportedEvent> | null, i) => {
    if (typeof e !== 'object' || e === null) throw new InvalidEventError(`Event ${i} must be an object`, i);
    try {
      validateEncodedAppend({ stream: e.stream, events: [e], expectedVersion: 'any', routingKey: validateRoutingKey(e.routingKey ?? undefined) }, maxEventBytes);
    } catch (err) {
      throw new InvalidEventError(`Event ${i}: ${(err as Error).message}`, i);
    }
    if (!Number.isSafeInteger(e.version) || (e.version as number) < 1) throw new InvalidEventError(`Event ${i} has a version that is not an integer >= 1`, i);
    if (!Number.isSafeInteger(e.timestamp) || (e.timestamp as number) < 0) throw new InvalidEventError(`Event ${i} has a timestamp that is not a number of ms >= 0`, i);
  });
}

/** Writes the events not stored yet; what it wrote is pushed onto `inserted`, for the projections. */
export function importEvents(db: SqlDriver, events: readonly ImportedEvent[], inserted: StoredEvent[]): ImportResult {
  const versions = new Map<string, number>();
  let skipped = 0;
  events.forEach((e, i) => {
    const stored = db.get<{ stream: string; version: number }>('SELECT stream, version FROM events WHERE id = ?', [e.id]);
    if (stored !== undefined) {
      if (stored.stream === e.stream && stored.version === e.version) {
        skipped++;
        return;
      }
      throw new InvalidEventError(`Event ${i}: its id ${e.id} is already used by version ${stored.version} of stream "${stored.stream}"`, i);
    }
    const current = versions.get(e.stream) ?? streamVersion(db, e.stream);
    if (e.version !== current + 1) {
      throw new InvalidEventError(`Event ${i}: version ${e.version} of stream "${e.stream}" does not follow its version ${current}`, i);
    }
    const category = categoryOf(e.stream);
    const position = db.run(INSERT, [
      e.id, e.stream, category, e.version, e.type, e.data, e.metadata, e.routingKey, e.timestamp, e.schemaVersion,
    ]).lastInsertRowid;
    versions.set(e.stream, e.version);
    inserted.push({ ...e, category, position, serverPosition: null });
  });
  return { imported: events.length - skipped, skipped };
}
