/**
 * The raw target, the limit: hand-written SQLite-WASM statements in a dedicated worker, on
 * Cairn's own schema (`migrate`) and PRAGMAs (`openOpfsDatabase`), with no RPC, no group-commit
 * queue and no validation. Every duration is taken inside this worker, so none of them
 * includes a postMessage hop.
 *
 * What raw does per event is the least any event log must do: build the data, serialise it
 * to JSON, INSERT the row with all of Cairn's indexes. Versions are counted in memory (this
 * worker is the only writer), and reads build one object per row with its data parsed,
 * which is what a caller gets from Cairn too.
 */
import type { Database, PreparedStatement, Sqlite3Static } from '@sqlite.org/sqlite-wasm';
import { monotonicFactory } from 'ulid';
import { categoryOf } from '../../src/core/encode.ts';
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
const COLUMNS = 'position, id, stream, category, version, type, data, metadata, routing_key, timestamp, schema_version';
const READ_LOG = `SELECT ${COLUMNS} FROM events WHERE position > ? ORDER BY position LIMIT ?`;
const READ_STREAM = `SELECT ${COLUMNS} FROM events WHERE stream = ? ORDER BY version`;

interface Session {
  opened: OpenedDatabase;
  db: Database;
  insert: PreparedStatement;
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

const nextId = monotonicFactory();
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
      insert(s, stream, i, eventData(i), Date.now()); // autocommit: one transaction per event
      latenciesMs[i] = performance.now() - t;
    }
    return { totalMs: performance.now() - start, latenciesMs };
  },

  async concurrentAppends({ store, streamPrefix, streams, count }) {
    // Raw SQLite has no group commit: each event is its own transaction, the reference
    // that group commit is measured against.
    const s = await session(store);
    const start = performance.now();
    for (let i = 0; i < count; i++) insert(s, `${streamPrefix}-${i % streams}`, i, eventData(i), Date.now());
    return { totalMs: performance.now() - start };
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
      transaction(s, () => {
        const now = Date.now();
        for (let i = 0; i < n; i++) insert(s, stream, from + i, data[i]!, now);
      });
      totalMs += performance.now() - t;
      const extra = interleaved(interleave, call);
      if (extra.count > 0) {
        transaction(s, () => {
          for (let i = extra.from; i < extra.from + extra.count; i++) insert(s, interleave!.stream, i, eventData(i), Date.now());
        });
      }
    }
    return { totalMs };
  },

  async readAll({ store, count, pageSize }) {
    const s = await session(store);
    const start = performance.now();
    const stmt = s.db.prepare(READ_LOG);
    let read = 0;
    let after = 0;
    try {
      while (read < count) {
        stmt.bind([after, Math.min(pageSize, count - read)]);
        const page: RawEvent[] = [];
        while (stmt.step()) page.push(readEvent(stmt));
        stmt.reset(true);
        if (page.length === 0) break;
        read += page.length;
        after = page[page.length - 1]!.position;
      }
    } finally {
      stmt.finalize();
    }
    return { totalMs: performance.now() - start, count: read };
  },

  async readStream({ store, stream, repeats }) {
    const s = await session(store);
    const stmt = s.db.prepare(READ_STREAM);
    const samplesMs: number[] = [];
    let count = 0;
    try {
      for (let r = 0; r < repeats; r++) {
        const t = performance.now();
        stmt.bind([stream]);
        const rows: RawEvent[] = [];
        while (stmt.step()) rows.push(readEvent(stmt));
        stmt.reset(true);
        samplesMs.push(performance.now() - t);
        count = rows.length;
      }
    } finally {
      stmt.finalize();
    }
    return { samplesMs, count };
  },

  async close({ store }) {
    const s = sessions.get(store);
    if (s === undefined) return null;
    sessions.delete(store);
    const { db, opened, insert } = await s;
    insert.finalize();
    db.close();
    opened.release();
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
    const rows: RawEvent[] = [];
    stmt.bind([0, pageSize]);
    while (stmt.step()) rows.push(readEvent(stmt));
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
  return { opened, db, insert: db.prepare(INSERT), versions: new Map() };
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

function transaction(s: Session, body: () => void): void {
  s.db.exec('BEGIN IMMEDIATE');
  try {
    body();
    s.db.exec('COMMIT');
  } catch (e) {
    s.db.exec('ROLLBACK');
    throw e;
  }
}

function insert(s: Session, stream: string, i: number, data: BenchEventData, timestamp: number): void {
  let version = s.versions.get(stream);
  if (version === undefined) {
    // A stream this worker has not written yet: ask once, then count in memory.
    version = Number(s.db.selectValue('SELECT coalesce(max(version), 0) FROM events WHERE stream = ?', [stream]));
  }
  version++;
  s.versions.set(stream, version);
  s.insert
    .bind([nextId(), stream, categoryOf(stream), version, eventType(i), JSON.stringify(data), timestamp])
    .stepReset();
}

function readEvent(stmt: PreparedStatement): RawEvent {
  const metadata = stmt.get(7) as string | null;
  return {
    position: stmt.get(0) as number,
    id: stmt.get(1) as string,
    stream: stmt.get(2) as string,
    category: stmt.get(3) as string,
    version: stmt.get(4) as number,
    type: stmt.get(5) as string,
    data: JSON.parse(stmt.get(6) as string) as unknown,
    metadata: metadata === null ? {} : (JSON.parse(metadata) as unknown),
    routingKey: stmt.get(8) as string | null,
    timestamp: stmt.get(9) as number,
    schemaVersion: stmt.get(10) as number,
  };
}
