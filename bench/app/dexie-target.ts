/**
 * The dexie target: the same event log a Dexie user would write, as Dexie's documentation
 * shows it: a `Dexie` subclass with a typed table, a schema string with an auto-increment
 * primary key (the global position), a unique compound index `&[stream+version]` and an
 * index on `type`, and appends in `db.transaction('rw', ...)`, reading the stream's head with
 * `where(...).between(...).last()` then `bulkAdd`. Timed in the page; the browser's default
 * transaction durability, as with idb.
 */
import { Dexie, type EntityTable } from 'dexie';
import { categoryOf, createIdFactory } from '../../src/core/encode.ts';
import { interleaved, type BenchTarget } from '../jobs.ts';
import { eventData, eventType, makeEvents, type BenchEventData } from './events.ts';

interface DexieEvent {
  position: number;
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

class EventLogDb extends Dexie {
  events!: EntityTable<DexieEvent, 'position'>;

  constructor(name: string) {
    super(name);
    this.version(1).stores({ events: '++position, &[stream+version], type' });
  }
}

const nextId = createIdFactory();
const dbs = new Map<string, EventLogDb>();

function database(name: string): EventLogDb {
  let db = dbs.get(name);
  if (db === undefined) {
    db = new EventLogDb(name);
    dbs.set(name, db);
  }
  return db;
}

/** Appends events to one stream in one rw transaction, after reading the stream's head in it. */
function append(db: EventLogDb, stream: string, events: readonly { type: string; data: BenchEventData }[]): Promise<void> {
  return db.transaction('rw', db.events, async () => {
    const head = await db.events.where('[stream+version]').between([stream, Dexie.minKey], [stream, Dexie.maxKey]).last();
    let version = head?.version ?? 0;
    const category = categoryOf(stream);
    const timestamp = Date.now();
    await db.events.bulkAdd(
      events.map((e) => ({
        id: nextId(), stream, category, version: ++version, type: e.type, data: e.data,
        metadata: null, routingKey: null, timestamp, schemaVersion: 1,
      })) as DexieEvent[],
    );
  });
}

/** The dexie target's jobs. */
export const dexieTarget: BenchTarget = {
  async singleAppends({ store, stream, count }) {
    const db = database(store);
    await db.open();
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
    // One transaction per append, all issued at once.
    const db = database(store);
    await db.open();
    const start = performance.now();
    const pending = new Array<Promise<void>>(count);
    for (let i = 0; i < count; i++) {
      pending[i] = append(db, `${streamPrefix}-${i % streams}`, [{ type: eventType(i), data: eventData(i) }]);
    }
    await Promise.all(pending);
    return { totalMs: performance.now() - start };
  },

  async batchAppends({ store, streamPrefix, count, batch, interleave }) {
    const db = database(store);
    await db.open();
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
    const db = database(store);
    await db.open();
    const start = performance.now();
    let read = 0;
    let after = 0;
    while (read < count) {
      const page = await db.events.where('position').above(after).limit(Math.min(pageSize, count - read)).toArray();
      if (page.length === 0) break;
      read += page.length;
      after = page[page.length - 1]!.position;
    }
    return { totalMs: performance.now() - start, count: read };
  },

  async readStream({ store, stream, repeats }) {
    const db = database(store);
    await db.open();
    const samplesMs: number[] = [];
    let count = 0;
    for (let r = 0; r < repeats; r++) {
      const t = performance.now();
      const rows = await db.events.where('[stream+version]').between([stream, 1], [stream, Dexie.maxKey]).toArray();
      samplesMs.push(performance.now() - t);
      count = rows.length;
    }
    return { samplesMs, count };
  },

  async close({ store }) {
    dbs.get(store)?.close();
    dbs.delete(store);
    return null;
  },

  async drop({ store }) {
    const db = database(store);
    dbs.delete(store);
    await db.delete();
    return null;
  },
};
