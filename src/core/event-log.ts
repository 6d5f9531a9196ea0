/**
 * The event log's SQL: appends with optimistic concurrency and idempotent retries, stream
 * reads, and filtered reads in global order. Everything here is synchronous and runs inside
 * whatever transaction the caller holds; `engine.ts` decides when.
 *
 * Every filtered read names its index (INDEXED BY), so the plan never falls back to a scan
 * of the log, whatever statistics SQLite has or lacks.
 */
import { isSqlError, type SqlDriver, type SqlValue } from './driver.ts';
import { categoryOf } from './encode.ts';
import { DuplicateEventIdError, InvalidArgumentError, VersionConflictError } from './errors.ts';
import type { AppendRequest, StoredBatch, StoredEvent } from './records.ts';
import type { AppendResult, EventFilter } from './types.ts';

/**
 * The events table's columns, each with the name a StoredEvent gives it: the one list from
 * which every SELECT of events and its packed JSON row are built.
 */
const EVENT_COLUMNS = [
  ['id', 'id'],
  ['stream', 'stream'],
  ['category', 'category'],
  ['version', 'version'],
  ['position', 'position'],
  ['type', 'type'],
  ['data', 'data'],
  ['metadata', 'metadata'],
  ['routing_key', 'routingKey'],
  ['timestamp', 'timestamp'],
  ['schema_version', 'schemaVersion'],
  ['server_position', 'serverPosition'],
] as const satisfies readonly (readonly [string, keyof StoredEvent])[];

/** `SELECT ${COLUMNS}` yields rows shaped as StoredEvents. */
const COLUMNS = EVENT_COLUMNS.map(([column, field]) => (column === field ? column : `${column} AS ${field}`)).join(', ');

/** The columns of `COLUMNS` (by their StoredEvent names), packed into one JSON array per row. */
const PACKED_ROW = `json_array(${EVENT_COLUMNS.map(([, field]) => field).join(', ')})`;

/**
 * Inserts one stream's events with one statement: the events cross the WASM boundary as one
 * JSON text, `[[id, type, data, metadata, schemaVersion], ...]`, which SQLite unpacks with
 * json_each, instead of as 7 bound strings per event (each a TextEncoder pass and a heap
 * allocation in the binding). Params: ?1 stream, ?2 category, ?3 the stream's version
 * before the append, ?4 routing key, ?5 timestamp, ?6 the packed events.
 */
const INSERT_PACKED = `INSERT INTO events (id, stream, category, version, type, data, metadata, routing_key, timestamp, schema_version)
  SELECT e.value ->> 0, ?1, ?2, ?3 + e.key + 1, e.value ->> 1, e.value ->> 2, e.value ->> 3, ?4, ?5, e.value ->> 4
  FROM json_each(?6) AS e ORDER BY e.key`;

/** One event's row, for appends of a few events or too big to pack into one SQLite string. */
const INSERT_ROW =
  'INSERT INTO events (id, stream, category, version, type, data, metadata, routing_key, timestamp, schema_version) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)';

const STORED_AT = 'SELECT stream, version, position FROM events WHERE id = ?';

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
 * and fails with DUPLICATE_EVENT_ID otherwise. Ids are looked up only when the append
 * cannot go through as it is (a version conflict or a unique-id failure), so the common
 * case costs one version read and one insert. The events it wrote (none for a retry) are
 * pushed onto `inserted`, for the projections.
 */
export function appendEvents(db: SqlDriver, req: AppendRequest, now: number, inserted?: StoredEvent[]): AppendResult {
  const actual = streamVersion(db, req.stream);
  if (!expectedVersionHolds(req, actual)) {
    const stored = storedAt(db, req.events[0]!.id);
    if (stored !== undefined) return replayedAppend(db, req, stored);
    throw new VersionConflictError(req.stream, req.expectedVersion, actual);
  }
  let position: number;
  try {
    position = insertEvents(db, req, actual, now);
  } catch (err) {
    if (!isSqlError(err, 'CONSTRAINT_UNIQUE')) throw err;
    // An id is taken: this is a retry of a stored append (answered with its result), or a
    // duplicate. Whatever this request wrote before failing, the caller's savepoint undoes.
    const stored = storedAt(db, req.events[0]!.id);
    if (stored !== undefined) return replayedAppend(db, req, stored);
    throw duplicateIdError(db, req) ?? err;
  }
  // One writer: the request's rows took consecutive positions, ending at `position`.
  if (inserted !== undefined) inserted.push(...writtenRows(req, actual, position, now));
  return appendResult(req, actual, position);
}

/** The rows an append of `req` after version `actual` wrote, the last at `last`. */
function writtenRows(req: AppendRequest, actual: number, last: number, now: number): StoredEvent[] {
  const category = categoryOf(req.stream);
  const first = last - req.events.length + 1;
  return req.events.map((e, i) => ({
    id: e.id, stream: req.stream, category, version: actual + i + 1, position: first + i, type: e.type,
    data: e.data, metadata: e.metadata, routingKey: req.routingKey, timestamp: now, schemaVersion: e.schemaVersion,
    serverPosition: null,
  }));
}

function appendResult(req: AppendRequest, actual: number, last: number): AppendResult {
  return { stream: req.stream, version: actual + req.events.length, position: last, ids: req.events.map((e) => e.id) };
}

/**
 * Many appends' events, of any streams, inserted with one statement: the packed rows are
 * `[[id, stream, category, version, type, data, metadata, routingKey, schemaVersion], ...]`.
 * Params: ?1 timestamp, ?2 the packed rows.
 */
const INSERT_MANY_PACKED = `INSERT INTO events (id, stream, category, version, type, data, metadata, routing_key, timestamp, schema_version)
  SELECT e.value ->> 0, e.value ->> 1, e.value ->> 2, e.value ->> 3, e.value ->> 4, e.value ->> 5, e.value ->> 6, e.value ->> 7, ?1, e.value ->> 8
  FROM json_each(?2) AS e ORDER BY e.key`;

/** Each stream's current version (none for a stream without events), for a JSON array of distinct streams. */
const STREAM_VERSIONS = `SELECT s.value AS stream, (SELECT max(version) FROM events WHERE stream = s.value) AS v FROM json_each(?) AS s`;

/**
 * Appends many requests, in order, with one version read and one insert for all of them, or
 * returns undefined, having written nothing, when that cannot be done: an expected version
 * that does not hold (a conflict or a retry, for `appendEvents` to tell apart), an id that
 * is already stored or given twice, or more than SQLite takes as one text. The events
 * written are pushed onto `inserted`, request by request.
 */
export function appendEventsBatch(db: SqlDriver, reqs: readonly AppendRequest[], now: number, inserted: StoredEvent[][]): AppendResult[] | undefined {
  const streams = [...new Set(reqs.map((r) => r.stream))];
  const versions = new Map(streams.map((s) => [s, 0]));
  for (const row of db.all<{ stream: string; v: number | null }>(STREAM_VERSIONS, [JSON.stringify(streams)])) {
    versions.set(row.stream, Number(row.v ?? 0));
  }
  const rows: unknown[][] = [];
  const before: number[] = [];
  for (const req of reqs) {
    const actual = versions.get(req.stream)!;
    if (!expectedVersionHolds(req, actual)) return undefined;
    before.push(actual);
    const category = categoryOf(req.stream);
    req.events.forEach((e, i) =>
      rows.push([e.id, req.stream, category, actual + i + 1, e.type, e.data, e.metadata, req.routingKey, e.schemaVersion]),
    );
    versions.set(req.stream, actual + req.events.length);
  }
  let last: number;
  try {
    last = db.run(INSERT_MANY_PACKED, [now, JSON.stringify(rows)]).lastInsertRowid;
  } catch (err) {
    if (isSqlError(err, 'CONSTRAINT_UNIQUE') || isTooBig(err)) return undefined;
    throw err;
  }
  // One writer and one statement: the rows took consecutive positions, ending at `last`.
  let position = last - rows.length;
  return reqs.map((req, r) => {
    position += req.events.length;
    inserted.push(writtenRows(req, before[r]!, position, now));
    return appendResult(req, before[r]!, position);
  });
}

/**
 * Below this many events an append inserts row by row: setting up json_each costs more
 * than binding one or two rows (measured in Node: ~45 us for one row inserted directly,
 * ~115 us packed; ~25 us per event packed at 10 events, ~16 us at 1,000).
 */
const PACK_FROM = 4;

/** Inserts the events after version `actual`; returns the last one's position. */
function insertEvents(db: SqlDriver, req: AppendRequest, actual: number, now: number): number {
  const category = categoryOf(req.stream);
  if (req.events.length >= PACK_FROM) {
    const packed = JSON.stringify(req.events.map((e) => [e.id, e.type, e.data, e.metadata, e.schemaVersion]));
    try {
      return db.run(INSERT_PACKED, [req.stream, category, actual, req.routingKey, now, packed]).lastInsertRowid;
    } catch (err) {
      // Over SQLite's string limit as one text (a huge batch, or a lowered limit): the
      // statement wrote nothing, so go row by row.
      if (!isTooBig(err)) throw err;
    }
  }
  let position = 0;
  let version = actual;
  for (const e of req.events) {
    version++;
    position = db.run(INSERT_ROW, [
      e.id, req.stream, category, version, e.type, e.data, e.metadata, req.routingKey, now, e.schemaVersion,
    ]).lastInsertRowid;
  }
  return position;
}

function storedAt(db: SqlDriver, id: string): { stream: string; version: number; position: number } | undefined {
  return db.get<{ stream: string; version: number; position: number }>(STORED_AT, [id]);
}

/** The error for an append whose first id is new but which hit a unique index: the id that is taken, if one is. */
function duplicateIdError(db: SqlDriver, req: AppendRequest): DuplicateEventIdError | undefined {
  const seen = new Set<string>();
  for (const e of req.events) {
    if (seen.has(e.id) || storedAt(db, e.id) !== undefined) return new DuplicateEventIdError(e.id);
    seen.add(e.id);
  }
  return undefined;
}

function expectedVersionHolds(req: AppendRequest, actual: number): boolean {
  const expected = req.expectedVersion;
  return (
    expected === 'any' ||
    (expected === 'no_stream' && actual === 0) ||
    (expected === 'stream_exists' && actual > 0) ||
    expected === actual
  );
}

function replayedAppend(
  db: SqlDriver,
  req: AppendRequest,
  first: { stream: string; version: number; position: number },
): AppendResult {
  let last = first;
  for (let i = 0; i < req.events.length; i++) {
    const id = req.events[i]!.id;
    const row = i === 0 ? first : storedAt(db, id);
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

/** An event as the sync server holds it: at the server's version, with its server position. */
export interface RemoteEvent {
  id: string;
  stream: string;
  version: number;
  type: string;
  data: string;
  metadata: string | null;
  routingKey: string | null;
  schemaVersion: number;
  timestamp: number;
  serverPosition: number;
}

const INSERT_REMOTE =
  'INSERT INTO events (id, stream, category, version, type, data, metadata, routing_key, timestamp, schema_version, server_position) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)';

/** Inserts an event of the server's at its version, confirmed; returns it as stored. */
export function insertRemote(db: SqlDriver, e: RemoteEvent): StoredEvent {
  const category = categoryOf(e.stream);
  const { lastInsertRowid: position } = db.run(INSERT_REMOTE, [
    e.id, e.stream, category, e.version, e.type, e.data, e.metadata, e.routingKey, e.timestamp, e.schemaVersion, e.serverPosition,
  ]);
  return {
    id: e.id, stream: e.stream, category, version: e.version, position, type: e.type, data: e.data, metadata: e.metadata,
    routingKey: e.routingKey, timestamp: e.timestamp, schemaVersion: e.schemaVersion, serverPosition: e.serverPosition,
  };
}

/**
 * The server's events, packed into one JSON text and inserted with one statement (as local
 * appends of several events are), skipping any already stored. Params: ?1 the packed events
 * `[[id, stream, category, version, type, data, metadata, routingKey, timestamp, schemaVersion, serverPosition], ...]`.
 */
const INSERT_REMOTE_PACKED = `INSERT INTO events (id, stream, category, version, type, data, metadata, routing_key, timestamp, schema_version, server_position)
  SELECT e.value ->> 0, e.value ->> 1, e.value ->> 2, e.value ->> 3, e.value ->> 4, e.value ->> 5, e.value ->> 6, e.value ->> 7,
         e.value ->> 8, e.value ->> 9, e.value ->> 10
  FROM json_each(?1) AS e WHERE NOT EXISTS (SELECT 1 FROM events x WHERE x.id = e.value ->> 0) ORDER BY e.key`;

/** Inserts the server's events not stored yet, in order; returns those it inserted, as stored. */
export function insertRemoteBatch(db: SqlDriver, events: readonly RemoteEvent[]): StoredEvent[] {
  if (events.length === 0) return [];
  const fresh = events.length < PACK_FROM ? events.filter((e) => storedEvent(db, e.id) === undefined) : undefined;
  if (fresh !== undefined) return fresh.map((e) => insertRemote(db, e));
  const packed = JSON.stringify(
    events.map((e) => [e.id, e.stream, categoryOf(e.stream), e.version, e.type, e.data, e.metadata, e.routingKey, e.timestamp, e.schemaVersion, e.serverPosition]),
  );
  let changes: number;
  let last: number;
  try {
    const run = db.run(INSERT_REMOTE_PACKED, [packed]);
    changes = run.changes;
    last = Number(run.lastInsertRowid);
  } catch (e) {
    if (!isTooBig(e)) throw e;
    return events.filter((x) => storedEvent(db, x.id) === undefined).map((x) => insertRemote(db, x));
  }
  if (changes === 0) return [];
  // Every one inserted, in order, by one statement: they are stored as given, at the
  // consecutive positions that end at the last rowid (AUTOINCREMENT may have skipped
  // positions of events taken out before), so there is nothing to read back.
  if (changes === events.length) {
    const first = last - changes + 1;
    return events.map((e, i) => ({
      id: e.id,
      stream: e.stream,
      category: categoryOf(e.stream),
      version: e.version,
      position: first + i,
      type: e.type,
      data: e.data,
      metadata: e.metadata,
      routingKey: e.routingKey,
      timestamp: e.timestamp,
      schemaVersion: e.schemaVersion,
      serverPosition: e.serverPosition,
    }));
  }
  // Some were stored already: the new rows are the last `changes` positions.
  return readFiltered(db, {}, last - changes, false, changes);
}

/** Where an event is stored, and whether the server has confirmed it; undefined when it is not stored. */
export function storedEvent(db: SqlDriver, id: string): { stream: string; version: number; serverPosition: number | null } | undefined {
  const row = db.get<{ stream: string; version: number; server_position: number | null }>(
    'SELECT stream, version, server_position FROM events WHERE id = ?',
    [id],
  );
  return row === undefined ? undefined : { stream: row.stream, version: Number(row.version), serverPosition: row.server_position === null ? null : Number(row.server_position) };
}

/** Marks a local event as confirmed by the server, at its server position. */
export function confirmEvent(db: SqlDriver, id: string, serverPosition: number): void {
  db.run('UPDATE events SET server_position = ? WHERE id = ?', [serverPosition, id]);
}

/** Removes events by id (pending local ones, taken out of the log); returns how many went. */
export function deleteEvents(db: SqlDriver, ids: readonly string[]): number {
  let n = 0;
  for (const id of ids) n += db.run('DELETE FROM events WHERE id = ?', [id]).changes;
  return n;
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
    ? selectEvents(
        db,
        `SELECT ${COLUMNS} FROM events WHERE stream = ? AND version <= ? ORDER BY version DESC LIMIT ?`,
        [stream, fromVersion ?? Number.MAX_SAFE_INTEGER, limit],
        true,
      )
    : selectEvents(
        db,
        `SELECT ${COLUMNS} FROM events WHERE stream = ? AND version >= ? ORDER BY version LIMIT ?`,
        [stream, fromVersion ?? 1, limit],
        false,
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
  return selectEvents(db, sql, params, backward);
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

/** A row as `PACKED_ROW` lays it out. */
type PackedRow = [string, string, string, number, number, string, string, string | null, string | null, number, number, number | null];

/**
 * Runs `sql` (a SELECT of `COLUMNS`) and returns its rows, in position order (descending
 * when `backward`).
 *
 * SQLite packs the whole result into one JSON text, so it crosses the WASM boundary once,
 * instead of through one binding call per column per row (11 per event). In the worker that
 * made reading a page of 1,000 events several times cheaper (see bench/README.md). A
 * result too large for one SQLite string (a page of very large events) is read column by
 * column instead.
 */
function selectEvents(db: SqlDriver, sql: string, params: SqlValue[], backward: boolean): StoredEvent[] {
  let packed: string | null | undefined;
  try {
    packed = db.get<{ page: string | null }>(
      `SELECT json_group_array(${PACKED_ROW}) AS page FROM (${sql})`,
      params,
    )?.page;
  } catch (e) {
    if (!isTooBig(e)) throw e;
    return db.all<StoredEvent>(sql, params);
  }
  const rows = JSON.parse(packed ?? '[]') as PackedRow[];
  const events = new Array<StoredEvent>(rows.length);
  for (let i = 0; i < rows.length; i++) events[i] = unpackRow(rows[i]!);
  // SQLite does not promise that json_group_array keeps its input's order (it does in
  // practice); sorting an array that is already in order costs one linear pass.
  events.sort(backward ? (a, b) => b.position - a.position : (a, b) => a.position - b.position);
  return events;
}

/** A packed row as a StoredEvent, its fields in `EVENT_COLUMNS` order. */
function unpackRow(r: PackedRow): StoredEvent {
  return {
    id: r[0], stream: r[1], category: r[2], version: r[3], position: r[4], type: r[5],
    data: r[6], metadata: r[7], routingKey: r[8], timestamp: r[9], schemaVersion: r[10], serverPosition: r[11],
  };
}

/** True for SQLITE_TOOBIG: a string or blob over SQLite's length limit. */
function isTooBig(e: unknown): boolean {
  return isSqlError(e, 'TOOBIG');
}
