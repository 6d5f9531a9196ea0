/**
 * The pglite target: the event log in PGlite (Postgres in WASM) on OPFS, in its own worker
 * (`PGliteWorker`, `opfs-ahp://`), as its documentation sets it up: one database for the
 * page, each bench store a schema of its own in it. The same table and
 * indexes as Cairn's (unique id, unique (stream, version), (category, position),
 * (type, position), partial (routing_key, position)), data as jsonb. An append is one
 * `transaction()` that reads the stream's head and inserts the events with one statement
 * over `jsonb_to_recordset`. PGlite's default durability (no relaxedDurability). Timed in the
 * page, so each figure includes its postMessage hop, as Cairn's do.
 */
import { PGliteWorker } from '@electric-sql/pglite/worker';
import { categoryOf, createIdFactory } from '../../src/core/encode.ts';
import { interleaved, type BenchTarget } from '../jobs.ts';
import { eventData, eventType, makeEvents, type BenchEventData } from './events.ts';

/** The schema of one store: its own Postgres schema in the page's one PGlite database. */
function schemaSql(schema: string): string {
  return `
CREATE SCHEMA IF NOT EXISTS ${schema};
CREATE TABLE IF NOT EXISTS ${schema}.events (
  position bigserial PRIMARY KEY,
  id text NOT NULL,
  stream text NOT NULL,
  category text NOT NULL,
  version integer NOT NULL,
  type text NOT NULL,
  data jsonb NOT NULL,
  metadata jsonb,
  routing_key text,
  timestamp bigint NOT NULL,
  schema_version integer NOT NULL
);
CREATE UNIQUE INDEX IF NOT EXISTS events_id ON ${schema}.events (id);
CREATE UNIQUE INDEX IF NOT EXISTS events_stream ON ${schema}.events (stream, version);
CREATE INDEX IF NOT EXISTS events_category ON ${schema}.events (category, position);
CREATE INDEX IF NOT EXISTS events_type ON ${schema}.events (type, position);
CREATE INDEX IF NOT EXISTS events_routing_key ON ${schema}.events (routing_key, position) WHERE routing_key IS NOT NULL;`;
}

/** One store's statements, on its schema's table. */
interface StoreSql {
  head: string;
  insert: string;
  readLog: string;
  readStream: string;
}

function storeSql(schema: string): StoreSql {
  const columns = 'position, id, stream, category, version, type, data, metadata, routing_key, timestamp, schema_version';
  return {
    head: `SELECT coalesce(max(version), 0) AS v FROM ${schema}.events WHERE stream = $1`,
    insert: `INSERT INTO ${schema}.events (id, stream, category, version, type, data, metadata, routing_key, timestamp, schema_version)
  SELECT r.id, $1, $2, $3::integer + r.n, r.type, r.data, NULL, NULL, $4, 1
  FROM jsonb_to_recordset($5::jsonb) AS r(n integer, id text, type text, data jsonb) ORDER BY r.n`,
    readLog: `SELECT ${columns} FROM ${schema}.events WHERE position > $1 ORDER BY position LIMIT $2`,
    readStream: `SELECT ${columns} FROM ${schema}.events WHERE stream = $1 ORDER BY version`,
  };
}

const nextId = createIdFactory();
const DATA_DIR = 'opfs-ahp://cairn-bench-pglite';

// One PGlite database for the page, as an app would open one; each bench store is a schema
// in it. Creating a PGlite database (initdb) takes 10–20 s here, untimed but too slow to do
// for every store.
let shared: Promise<PGliteWorker> | undefined;
const schemas = new Map<string, Promise<{ pg: PGliteWorker; sql: StoreSql }>>();

function schemaOf(name: string): string {
  return `s_${name.replace(/[^a-z0-9]/gi, '_').toLowerCase()}`;
}

function database(name: string): Promise<{ pg: PGliteWorker; sql: StoreSql }> {
  let db = schemas.get(name);
  if (db === undefined) {
    shared ??= PGliteWorker.create(new Worker(new URL('./pglite.worker.ts', import.meta.url), { type: 'module', name: 'pglite' }), {
      dataDir: DATA_DIR,
    });
    const schema = schemaOf(name);
    db = shared.then(async (pg) => {
      await pg.exec(schemaSql(schema));
      return { pg, sql: storeSql(schema) };
    });
    schemas.set(name, db);
  }
  return db;
}

async function append(
  { pg, sql }: { pg: PGliteWorker; sql: StoreSql },
  stream: string,
  events: readonly { type: string; data: BenchEventData }[],
): Promise<void> {
  await pg.transaction(async (tx) => {
    const head = await tx.query<{ v: number }>(sql.head, [stream]);
    const version = Number(head.rows[0]?.v ?? 0);
    const rows = events.map((e, i) => ({ n: i + 1, id: nextId(), type: e.type, data: e.data }));
    await tx.query(sql.insert, [stream, categoryOf(stream), version, Date.now(), JSON.stringify(rows)]);
  });
}

/** The pglite target's jobs. */
export const pgliteTarget: BenchTarget = {
  async singleAppends({ store, stream, count }) {
    const pg = await database(store);
    const latenciesMs = new Array<number>(count);
    const start = performance.now();
    for (let i = 0; i < count; i++) {
      const t = performance.now();
      await append(pg, stream, [{ type: eventType(i), data: eventData(i) }]);
      latenciesMs[i] = performance.now() - t;
    }
    return { totalMs: performance.now() - start, latenciesMs };
  },

  async concurrentAppends({ store, streamPrefix, streams, count }) {
    // All issued at once; PGlite runs its transactions one after another.
    const pg = await database(store);
    const start = performance.now();
    const pending = new Array<Promise<void>>(count);
    for (let i = 0; i < count; i++) {
      pending[i] = append(pg, `${streamPrefix}-${i % streams}`, [{ type: eventType(i), data: eventData(i) }]);
    }
    await Promise.all(pending);
    return { totalMs: performance.now() - start };
  },

  async batchAppends({ store, streamPrefix, count, batch, interleave }) {
    const pg = await database(store);
    let totalMs = 0;
    for (let call = 0, from = 0; from < count; call++, from += batch) {
      const events = makeEvents(from, Math.min(batch, count - from));
      const t = performance.now();
      await append(pg, `${streamPrefix}-${call}`, events);
      totalMs += performance.now() - t;
      const extra = interleaved(interleave, call);
      if (extra.count > 0) await append(pg, interleave!.stream, makeEvents(extra.from, extra.count));
    }
    return { totalMs };
  },

  async readAll({ store, count, pageSize }) {
    const pg = await database(store);
    const start = performance.now();
    let read = 0;
    let after = 0;
    while (read < count) {
      const page = await pg.pg.query<{ position: number }>(pg.sql.readLog, [after, Math.min(pageSize, count - read)]);
      if (page.rows.length === 0) break;
      read += page.rows.length;
      after = Number(page.rows[page.rows.length - 1]!.position);
    }
    return { totalMs: performance.now() - start, count: read };
  },

  async readStream({ store, stream, repeats }) {
    const pg = await database(store);
    const samplesMs: number[] = [];
    let count = 0;
    for (let r = 0; r < repeats; r++) {
      const t = performance.now();
      count = (await pg.pg.query(pg.sql.readStream, [stream])).rows.length;
      samplesMs.push(performance.now() - t);
    }
    return { samplesMs, count };
  },

  async close({ store }) {
    // The database stays open for the other stores; a closed store is only forgotten.
    schemas.delete(store);
    return null;
  },

  async drop({ store }) {
    const db = schemas.get(store);
    schemas.delete(store);
    const pg = db === undefined ? await shared : (await db).pg;
    await pg?.exec(`DROP SCHEMA IF EXISTS ${schemaOf(store)} CASCADE`);
    return null;
  },
};
