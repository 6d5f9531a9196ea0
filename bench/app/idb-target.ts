/**
 * The idb target: the event log a PWA would otherwise write on IndexedDB with `idb`. An
 * auto-increment key is the global position; a unique index on [stream, version] finds a
 * stream's head and rejects a lost race; an index on type. Each append reads the stream's
 * version inside its own readwrite transaction, so the check and the write are atomic.
 * Transactions use the browser's default durability, as an app would.
 */
import { deleteDB, openDB, type DBSchema, type IDBPDatabase } from 'idb';
import { interleaved, type BenchTarget } from '../jobs.ts';
import { categoryOf } from '../../src/core/encode.ts';
import { eventData, eventType, makeEvents, type BenchEventData } from './events.ts';
import { monotonicFactory } from 'ulid';

interface IdbEvent {
  position?: number;
  id: string;
  stream: string;
  category: string;
  version: number;
  type: string;
  data: unknown;
  metadata: Record<string, unknown> | null;
  routingKey: string | null;
  timestamp: number;
  schemaVersion: number;
}

interface EventLogSchema extends DBSchema {
  events: {
    key: number;
    value: IdbEvent;
    indexes: { stream_version: [string, number]; type: string };
  };
}

type Db = IDBPDatabase<EventLogSchema>;

const nextId = monotonicFactory();
const dbs = new Map<string, Promise<Db>>();

function database(name: string): Promise<Db> {
  let db = dbs.get(name);
  if (db === undefined) {
    db = openDB<EventLogSchema>(name, 1, {
      upgrade(d) {
        const events = d.createObjectStore('events', { keyPath: 'position', autoIncrement: true });
        events.createIndex('stream_version', ['stream', 'version'], { unique: true });
        events.createIndex('type', 'type');
      },
    });
    dbs.set(name, db);
  }
  return db;
}

/** Appends events to one stream in one transaction, after reading the stream's version in it. */
async function append(db: Db, stream: string, events: readonly { type: string; data: BenchEventData }[]): Promise<void> {
  const tx = db.transaction('events', 'readwrite');
  const head = await tx.store
    .index('stream_version')
    .openKeyCursor(IDBKeyRange.bound([stream, 0], [stream, Number.MAX_SAFE_INTEGER]), 'prev');
  let version = head === null ? 0 : head.key[1];
  const category = categoryOf(stream);
  const timestamp = Date.now();
  const writes: Promise<unknown>[] = [];
  for (const e of events) {
    version++;
    writes.push(
      tx.store.add({
        id: nextId(), stream, category, version, type: e.type, data: e.data,
        metadata: null, routingKey: null, timestamp, schemaVersion: 1,
      }),
    );
  }
  await Promise.all([...writes, tx.done]);
}

/** The idb target's jobs. */
export const idbTarget: BenchTarget = {
  async singleAppends({ store, stream, count }) {
    const db = await database(store);
    const latenciesMs = new Array<number>(count);
    const start = performance.now();
    for (let i = 0; i < count; i++) {
      const t = performance.now();
      await append(db, stream, [{ type: eventType(i), data: eventData(i) }]);
      latenciesMs[i] = performance.now() - t;
    }
    return { totalMs: performance.now() - start, latenciesMs };
  },

  async concurrentAppends({ store, streamPrefix, streams, count }) {
    // One transaction per append, all issued at once: IndexedDB queues overlapping
    // readwrite transactions and commits each on its own.
    const db = await database(store);
    const start = performance.now();
    const pending = new Array<Promise<void>>(count);
    for (let i = 0; i < count; i++) {
      pending[i] = append(db, `${streamPrefix}-${i % streams}`, [{ type: eventType(i), data: eventData(i) }]);
    }
    await Promise.all(pending);
    return { totalMs: performance.now() - start };
  },

  async batchAppends({ store, streamPrefix, count, batch, interleave }) {
    const db = await database(store);
    let totalMs = 0;
    for (let call = 0, from = 0; from < count; call++, from += batch) {
      const events = makeEvents(from, Math.min(batch, count - from));
      const t = performance.now();
      await append(db, `${streamPrefix}-${call}`, events);
      totalMs += performance.now() - t;
      const extra = interleaved(interleave, call);
      if (extra.count > 0) await append(db, interleave!.stream, makeEvents(extra.from, extra.count));
    }
    return { totalMs };
  },

  async readAll({ store, count, pageSize }) {
    // getAll over a key range, one page per transaction: the fastest way IndexedDB offers
    // to page through a log (a cursor is slower per record).
    const db = await database(store);
    const start = performance.now();
    let read = 0;
    let after = 0;
    while (read < count) {
      const page = await db.getAll('events', IDBKeyRange.lowerBound(after, true), Math.min(pageSize, count - read));
      if (page.length === 0) break;
      read += page.length;
      after = page[page.length - 1]!.position!;
    }
    return { totalMs: performance.now() - start, count: read };
  },

  async readStream({ store, stream, repeats }) {
    const db = await database(store);
    const samplesMs: number[] = [];
    let count = 0;
    for (let r = 0; r < repeats; r++) {
      const t = performance.now();
      const rows = await db.getAllFromIndex(
        'events',
        'stream_version',
        IDBKeyRange.bound([stream, 1], [stream, Number.MAX_SAFE_INTEGER]),
      );
      samplesMs.push(performance.now() - t);
      count = rows.length;
    }
    return { samplesMs, count };
  },

  async close({ store }) {
    const db = dbs.get(store);
    dbs.delete(store);
    if (db !== undefined) (await db).close();
    return null;
  },

  async drop({ store }) {
    await idbTarget.close({ store });
    await deleteDB(store);
    return null;
  },
};
