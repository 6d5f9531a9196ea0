/**
 * The event log's SQL: appends with optimistic concurrency and idempotent retries, stream
 * reads, and filtered reads in global order. Everything here is synchronous and runs inside
 * whatever transaction the caller holds; `engine.ts` decides when.
 *
 * Every filtered read names its index (INDEXED BY), so the plan never falls back to a scan
 * of the log, whatever statistics SQLite has or lacks.
 */
import type { SqlDriver, SqlValue } from './driver.ts';
import { categoryOf } from './encode.ts';
import { DuplicateEventIdError, InvalidArgumentError, VersionConflictError } from './errors.ts';
import type { AppendRequest, StoredBatch, StoredEvent } from './records.ts';
import type { AppendResult, EventFilter } from './types.ts';

const COLUMNS =
  'id, stream, category, version, position, type, data, metadata, routing_key AS routingKey, timestamp, schema_version AS schemaVersion';

const INSERT =
  'INSERT INTO events (id, stream, category, version, type, data, metadata, routing_key, timestamp, schema_version) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)';

/** The newest position in the log, 0 when it is empty. */
export function headPosition(db: SqlDriver): number {
  return Number(db.get<{ head: number | null }>('SELECT max(position) AS head FROM events')?.head ?? 0);
}

/** The current version of a stream, 0 when it has no events. */
export function streamVersion(db: SqlDriver, stream: string): number {
  return Number(db.get<{ v: number | null }>('SELECT max(version) AS v FROM events WHERE stream = ?', [stream])?.v ?? 0);
}

/**
 * Appends one stream's events. If the first event's id is already stored, the request is a
 * retry: it returns the original result when every id matches the stored events in order,
 * and fails with DUPLICATE_EVENT_ID otherwise. The events it wrote (none for a retry) are
 * pushed onto `inserted`, for the projections.
 */
export function appendEvents(db: SqlDriver, req: AppendRequest, now: number, inserted?: StoredEvent[]): AppendResult {
  const first = req.events[0]!;
  const existing = db.get<{ stream: string; version: number; position: number }>(
    'SELECT stream, version, position FROM events WHERE id = ?',
    [first.id],
  );
  if (existing !== undefined) return replayedAppend(db, req, existing);

  const actual = streamVersion(db, req.stream);
  checkExpectedVersion(req, actual);
  const category = categoryOf(req.stream);
  let version = actual;
  let position = 0;
  for (const e of req.events) {
    version++;
    try {
      position = db.run(INSERT, [
        e.id, req.stream, category, version, e.type, e.data, e.metadata, req.routingKey, now, e.schemaVersion,
      ]).lastInsertRowid;
    } catch (err) {
      if (String(err).includes('UNIQUE constraint failed: events.id')) throw new DuplicateEventIdError(e.id);
      throw err;
    }
    inserted?.push({
      id: e.id, stream: req.stream, category, version, position, type: e.type, data: e.data,
      metadata: e.metadata, routingKey: req.routingKey, timestamp: now, schemaVersion: e.schemaVersion,
    });
  }
  return { stream: req.stream, version, position, ids: req.events.map((e) => e.id) };
}

function checkExpectedVersion(req: AppendRequest, actual: number): void {
  const expected = req.expectedVersion;
  const ok =
    expected === 'any' ||
    (expected === 'no_stream' && actual === 0) ||
    (expected === 'stream_exists' && actual > 0) ||
    expected === actual;
  if (!ok) throw new VersionConflictError(req.stream, expected, actual);
}

function replayedAppend(
  db: SqlDriver,
  req: AppendRequest,
  first: { stream: string; version: number; position: number },
): AppendResult {
  let last = first;
  for (let i = 0; i < req.events.length; i++) {
    const id = req.events[i]!.id;
    const row =
      i === 0 ? first : db.get<typeof first>('SELECT stream, version, position FROM events WHERE id = ?', [id]);
    if (row === undefined || row.stream !== req.stream || row.version !== first.version + i) {
      throw new DuplicateEventIdError(
        id,
        `Event id ${req.events[0]!.id} is already stored${first.stream === req.stream ? '' : ` in stream "${first.stream}"`}, and this append is not an exact retry of that one`,
      );
    }
    last = row;
  }
  return { stream: req.stream, version: last.version, position: last.position, ids: req.events.map((e) => e.id) };
}

/** Reads events by id, in the order given; ids that are not stored are left out. */
export function readEventsById(db: SqlDriver, ids: readonly string[]): StoredEvent[] {
  const out: StoredEvent[] = [];
  for (const id of ids) {
    const row = db.get<StoredEvent>(`SELECT ${COLUMNS} FROM events WHERE id = ?`, [id]);
    if (row !== undefined) out.push(row);
  }
  return out;
}

/** Up to `limit` events matching `filter` after `after`, with the head of the same snapshot. */
export function readBatch(db: SqlDriver, filter: EventFilter, after: number, limit: number): StoredBatch {
  return { events: readFiltered(db, filter, after, false, limit), head: headPosition(db) };
}

/** Reads one stream by version. */
export function readStreamEvents(
  db: SqlDriver,
  stream: string,
  fromVersion: number | undefined,
  backward: boolean,
  limit: number,
): StoredEvent[] {
  return backward
    ? db.all<StoredEvent>(
        `SELECT ${COLUMNS} FROM events WHERE stream = ? AND version <= ? ORDER BY version DESC LIMIT ?`,
        [stream, fromVersion ?? Number.MAX_SAFE_INTEGER, limit],
      )
    : db.all<StoredEvent>(
        `SELECT ${COLUMNS} FROM events WHERE stream = ? AND version >= ? ORDER BY version LIMIT ?`,
        [stream, fromVersion ?? 1, limit],
      );
}

/**
 * Reads up to `limit` events matching `filter` strictly after (forward) or before
 * (backward) `boundary`, in that direction's order.
 */
export function readFiltered(
  db: SqlDriver,
  filter: EventFilter,
  boundary: number,
  backward: boolean,
  limit: number,
): StoredEvent[] {
  const { sql, params } = filteredQuery(filter, boundary, backward, limit);
  return db.all<StoredEvent>(sql, params);
}

/** The SQL of a filtered read; exported so tests can check its query plan. */
export function filteredQuery(
  filter: EventFilter,
  boundary: number,
  backward: boolean,
  limit: number,
): { sql: string; params: SqlValue[] } {
  const types = filter.types;
  if (types !== undefined && types.length === 0) {
    throw new InvalidArgumentError('types must name at least one event type');
  }
  const order = backward ? 'DESC' : 'ASC';
  const cmp = backward ? '<' : '>';
  const conditions: string[] = [];
  const params: SqlValue[] = [];
  if (filter.stream !== undefined) {
    conditions.push('stream = ?');
    params.push(filter.stream);
  }
  if (filter.category !== undefined) {
    conditions.push('category = ?');
    params.push(filter.category);
  }
  if (filter.routingKey !== undefined) {
    conditions.push('routing_key = ?');
    params.push(filter.routingKey);
  }

  // The index that drives the read: the most selective filter we can count on.
  const drivenByType =
    types !== undefined && filter.stream === undefined && filter.category === undefined;
  if (drivenByType && types.length > 1) {
    // One index range per type, each already in position order, merged: no sort of the whole set.
    const arms = types.map(() => {
      const where = ['type = ?', ...conditions, `position ${cmp} ?`].join(' AND ');
      return `SELECT * FROM (SELECT ${COLUMNS} FROM events INDEXED BY events_type WHERE ${where} ORDER BY position ${order} LIMIT ?)`;
    });
    const allParams: SqlValue[] = [];
    for (const t of types) allParams.push(t, ...params, boundary, limit);
    allParams.push(limit);
    return { sql: `${arms.join(' UNION ALL ')} ORDER BY position ${order} LIMIT ?`, params: allParams };
  }

  let index: string;
  if (filter.stream !== undefined) index = 'events_stream';
  else if (filter.category !== undefined) index = 'events_category';
  else if (types !== undefined) index = 'events_type';
  else if (filter.routingKey !== undefined) index = 'events_routing_key';
  else index = '';

  if (types !== undefined) {
    conditions.push(types.length === 1 ? 'type = ?' : `type IN (${types.map(() => '?').join(', ')})`);
    params.push(...types);
  }
  conditions.push(`position ${cmp} ?`);
  params.push(boundary, limit);
  const indexed = index === '' ? '' : ` INDEXED BY ${index}`;
  // Within one stream, version order is position order, and the (stream, version) index yields it.
  const orderBy = index === 'events_stream' ? `version ${order}` : `position ${order}`;
  return {
    sql: `SELECT ${COLUMNS} FROM events${indexed} WHERE ${conditions.join(' AND ')} ORDER BY ${orderBy} LIMIT ?`,
    params,
  };
}
