/**
 * The raw target, the ceiling: the best hand-written SQLite-WASM code for Cairn's own schema
 * (`migrate`), PRAGMAs and VFS (`openOpfsDatabase`: opfs-sahpool, WAL, EXCLUSIVE,
 * synchronous=FULL) in a dedicated worker, with no RPC, no group-commit queue and no
 * validation. Every duration is taken inside this worker, so none includes a postMessage hop.
 *
 * It uses every technique Cairn uses, so that Cairn can approach it but never honestly beat it:
 * - statements prepared once and kept (QPSG is on: `createSqliteWasmDriver` enables it on the
 *   connection, so a bound WHERE parameter does not re-prepare them);
 * - Cairn's pooled-random ULID factory;
 * - a call's events inserted with one statement over `json_each` (one JSON text across the
 *   WASM boundary instead of 7 bound strings per event);
 * - concurrent appends grouped into one transaction (group commit), and one INSERT per
 *   commit group;
 * - reads that pack a page of rows into one JSON text (`json_group_array(json_array(...))`),
 *   parsed once, then each event's data parsed, which is what a caller gets from Cairn too.
 * Versions are counted in memory (this worker is the only writer), so an append reads
 * nothing first.
 */
import type { Database, PreparedStatement, Sqlite3Static } from '@sqlite.org/sqlite-wasm';
import { categoryOf, createIdFactory } from '../../src/core/encode.ts';
import { migrate } from '../../src/core/schema.ts';
import { createSqliteWasmDriver } from '../../src/core/sqlite-wasm-driver.ts';
import { loadSqlite } from '../../src/core/sqlite-wasm.ts';
import { serveRpc, type Endpoint } from '../../src/protocol/rpc.ts';
import { openOpfsDatabase, type OpenedDatabase } from '../../worker/storage.ts';
import { interleaved, type BenchTarget, type PragmaSettings } from '../jobs.ts';
import { eventData, eventType, type BenchEventData } from './events.ts';
import { removeOpfsStore } from './opfs.ts';

/** When this worker's script started running, in ms since the epoch (high resolution). */
const scriptStart = performance.timeOrigin + performance.now();

const INSERT =
  'INSERT INTO events (id, stream, category, version, type, data, metadata, routing_key, timestamp, schema_version) VALUES (?, ?, ?, ?, ?, ?, NULL, NULL, ?, 1)';
/** One stream's events as one JSON text `[[id, type, data], ...]`: ?1 stream, ?2 category, ?3 version before, ?4 timestamp, ?5 the events. */
const INSERT_PACKED = `INSERT INTO events (id, stream, category, version, type, data, metadata, routing_key, timestamp, schema_version)
  SELECT e.value ->> 0, ?1, ?2, ?3 + e.key + 1, e.value ->> 1, e.value ->> 2, NULL, NULL, ?4, 1 FROM json_each(?5) AS e ORDER BY e.key`;
/** Any streams' events as one JSON text `[[id, stream, category, version, type, data], ...]`: ?1 timestamp, ?2 the events. */
const INSERT_GROUP = `INSERT INTO events (id, stream, category, version, type, data, metadata, routing_key, timestamp, schema_version)
  SELECT e.value ->> 0, e.value ->> 1, e.value ->> 2, e.value ->> 3, e.value ->> 4, e.value ->> 5, NULL, NULL, ?1, 1 FROM json_each(?2) AS e ORDER BY e.key`;
const PACKED_ROW = 'json_array(position, id, stream, category, version, type, data, metadata, routing_key, timestamp, schema_version)';
const COLUMNS = 'position, id, stream, category, version, type, data, metadata, routing_key, timestamp, schema_version';
const READ_LOG = `SELECT json_group_array(${PACKED_ROW}) FROM (SELECT ${COLUMNS} FROM events WHERE position > ? ORDER BY position LIMIT ?)`;
const READ_STREAM = `SELECT json_group_array(${PACKED_ROW}) FROM (SELECT ${COLUMNS} FROM events INDEXED BY events_stream WHERE stream = ? ORDER BY version)`;

/** A packed row as READ_LOG lays it out. */
type PackedRow = [number, string, string, string, number, string, string, string | null, string | null, number, number];

interface Session {
  opened: OpenedDatabase;
  db: Database;
  insert: PreparedStatement;
  insertPacked: PreparedStatement;
  insertGroup: PreparedStatement;
  readLog: PreparedStatement;
  readStream: PreparedStatement;
  versions: Map<string, number>;
}

/** A row read back, shaped like Cairn's recorded event. */
interface RawEvent {
  position: number;
  id: string;
  stream: string;
  category: string;
  version: number;
  type: string;
  data: unknown;
  metadata: unknown;
  routingKey: string | null;
  timestamp: number;
  schemaVersion: number;
}

const nextId = createIdFactory();
const sessions = new Map<string, Promise<Session>>();
let sqlite3: Sqlite3Static | undefined;

/** The raw worker's API: the target jobs, plus the PRAGMA study's open and the cold-open probe. */
export type RawWorkerApi = BenchTarget & {
  openWith(args: { store: string; pragmas: PragmaSettings }): Promise<PragmaSettings>;
  coldOpen(args: { store: string; pageSize: number }): Promise<{ marks: Record<string, number>; count: number }>;
};

const api: RawWorkerApi = {
  async singleAppends({ store, stream, count }) {
    const s = await session(store);
    const latenciesMs = new Array<number>(count);
    const start = performance.now();
    for (let i = 0; i < count; i++) {
      const t = performance.now();
      insertOne(s, stream, i, eventData(i), Date.now()); // autocommit: one transaction per event
      latenciesMs[i] = performance.now() - t;
    }
    return { totalMs: performance.now() - start, latenciesMs };
  },

  async concurrentAppends({ store, streamPrefix, streams, count }) {
    // Group commit by hand: every append issued at once goes into one transaction, its rows
    // into one INSERT over json_each, each at its stream's next version.
    const s = await session(store);
    const start = performance.now();
    const now = Date.now();
    const rows = new Array<unknown[]>(count);
    for (let i = 0; i < count; i++) {
      const stream = `${streamPrefix}-${i % streams}`;
      rows[i] = [nextId(), stream, categoryOf(stream), nextVersion(s, stream, 1), eventType(i), JSON.stringify(eventData(i))];
    }
    s.insertGroup.bind([now, JSON.stringify(rows)]).stepReset();
    const totalMs = performance.now() - start;
    // The same appends each in its own transaction: the single-commit rate group commit beats.
    const single = performance.now();
    for (let i = 0; i < count; i++) insertOne(s, `${streamPrefix}s-${i % streams}`, i, eventData(i), Date.now());
    return { totalMs, singleCommitsMs: performance.now() - single };
  },

  async batchAppends({ store, streamPrefix, count, batch, interleave }) {
    const s = await session(store);
    let totalMs = 0;
    for (let call = 0, from = 0; from < count; call++, from += batch) {
      const n = Math.min(batch, count - from);
      const data = new Array<BenchEventData>(n);
      for (let i = 0; i < n; i++) data[i] = eventData(from + i);
      const stream = `${streamPrefix}-${call}`;
      const t = performance.now();
      insertPacked(s, stream, from, data);
      totalMs += performance.now() - t;
      const extra = interleaved(interleave, call);
      if (extra.count > 0) {
        const more = new Array<BenchEventData>(extra.count);
        for (let i = 0; i < extra.count; i++) more[i] = eventData(extra.from + i);
        insertPacked(s, interleave!.stream, extra.from, more);
      }
    }
    return { totalMs };
  },

  async readAll({ store, count, pageSize }) {
    const s = await session(store);
    const start = performance.now();
    let read = 0;
    let after = 0;
    while (read < count) {
      const page = readPacked(s.readLog, [after, Math.min(pageSize, count - read)]);
      if (page.length === 0) break;
      read += page.length;
      after = page[page.length - 1]!.position;
    }
    return { totalMs: performance.now() - start, count: read };
  },

  async readStream({ store, stream, repeats }) {
    const s = await session(store);
    const samplesMs: number[] = [];
    let count = 0;
    for (let r = 0; r < repeats; r++) {
      const t = performance.now();
      count = readPacked(s.readStream, [stream]).length;
      samplesMs.push(performance.now() - t);
    }
    return { samplesMs, count };
  },

  async close({ store }) {
    const s = sessions.get(store);
    if (s === undefined) return null;
    sessions.delete(store);
    const session = await s;
    for (const stmt of [session.insert, session.insertPacked, session.insertGroup, session.readLog, session.readStream]) stmt.finalize();
    session.db.close();
    session.opened.release();
    return null;
  },

  async drop({ store }) {
    await api.close({ store });
    await removeOpfsStore(store);
    return null;
  },

  async openWith({ store, pragmas }) {
    if (sessions.has(store)) throw new Error(`The raw store ${store} is already open`);
    return settingsOf((await session(store, pragmas)).db);
  },

  async coldOpen({ store, pageSize }) {
    const marks: Record<string, number> = { scriptStart };
    const s3 = await loadSqlite();
    marks.sqliteLoaded = now();
    const opened = await openOpfsDatabase(s3, store, 'strict');
    marks.databaseOpen = now();
    migrate(createSqliteWasmDriver(s3, opened.db));
    marks.migrated = now();
    const stmt = opened.db.prepare(READ_LOG);
    const rows = readPacked(stmt, [0, pageSize]);
    stmt.finalize();
    marks.firstRead = now();
    opened.db.close();
    opened.release();
    return { marks, count: rows.length };
  },
};

serveRpc(api, globalThis as unknown as Endpoint);

function now(): number {
  return performance.timeOrigin + performance.now();
}

function session(store: string, pragmas?: PragmaSettings): Promise<Session> {
  let s = sessions.get(store);
  if (s === undefined) {
    s = openSession(store, pragmas);
    sessions.set(store, s);
  }
  return s;
}

async function openSession(store: string, pragmas: PragmaSettings | undefined): Promise<Session> {
  sqlite3 ??= await loadSqlite();
  const opened = await openOpfsDatabase(sqlite3, store, 'strict');
  const db = opened.db;
  if (pragmas !== undefined) {
    // openOpfsDatabase has set WAL + EXCLUSIVE on the new, empty file. Leave WAL while the lock
    // is still exclusive (SQLite requires it), then drop to the locking mode asked for.
    db.exec(`PRAGMA journal_mode = ${pragmas.journalMode}; PRAGMA synchronous = ${pragmas.synchronous};`);
    db.exec(`PRAGMA locking_mode = ${pragmas.lockingMode}`);
  }
  migrate(createSqliteWasmDriver(sqlite3, db));
  return {
    opened, db, insert: db.prepare(INSERT), insertPacked: db.prepare(INSERT_PACKED), insertGroup: db.prepare(INSERT_GROUP),
    readLog: db.prepare(READ_LOG), readStream: db.prepare(READ_STREAM), versions: new Map(),
  };
}

function settingsOf(db: Database): PragmaSettings {
  const one = (pragma: string): string => String(db.selectValue(`PRAGMA ${pragma}`)).toUpperCase();
  const sync = ['OFF', 'NORMAL', 'FULL', 'EXTRA'][Number(db.selectValue('PRAGMA synchronous'))] ?? '?';
  return {
    journalMode: one('journal_mode') as PragmaSettings['journalMode'],
    lockingMode: one('locking_mode') as PragmaSettings['lockingMode'],
    synchronous: sync as PragmaSettings['synchronous'],
  };
}

/** The version after `stream`'s current one, `n` events on; asks SQLite once per stream, then counts in memory. */
function nextVersion(s: Session, stream: string, n: number): number {
  let version = s.versions.get(stream);
  version ??= Number(s.db.selectValue('SELECT coalesce(max(version), 0) FROM events WHERE stream = ?', [stream]));
  s.versions.set(stream, version + n);
  return version + 1;
}

function insertOne(s: Session, stream: string, i: number, data: BenchEventData, timestamp: number): void {
  const version = nextVersion(s, stream, 1);
  s.insert.bind([nextId(), stream, categoryOf(stream), version, eventType(i), JSON.stringify(data), timestamp]).stepReset();
}

/** One stream's events in one autocommit statement (one transaction). */
function insertPacked(s: Session, stream: string, from: number, data: readonly BenchEventData[]): void {
  const first = nextVersion(s, stream, data.length);
  const rows = new Array<unknown[]>(data.length);
  for (let i = 0; i < data.length; i++) rows[i] = [nextId(), eventType(from + i), JSON.stringify(data[i])];
  s.insertPacked.bind([stream, categoryOf(stream), first - 1, Date.now(), JSON.stringify(rows)]).stepReset();
}

/** Runs a packed read and builds its events, data parsed. */
function readPacked(stmt: PreparedStatement, params: (string | number)[]): RawEvent[] {
  stmt.bind(params);
  stmt.step();
  const packed = stmt.getString(0);
  stmt.reset(true);
  const rows = JSON.parse(packed ?? '[]') as PackedRow[];
  const events = new Array<RawEvent>(rows.length);
  for (let i = 0; i < rows.length; i++) {
    const r = rows[i]!;
    events[i] = {
      position: r[0], id: r[1], stream: r[2], category: r[3], version: r[4], type: r[5],
      data: JSON.parse(r[6]) as unknown, metadata: r[7] === null ? {} : (JSON.parse(r[7]) as unknown),
      routingKey: r[8], timestamp: r[9], schemaVersion: r[10],
    };
  }
  return events;
}
