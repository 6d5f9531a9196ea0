/**
 * The pglite target: the event log in PGlite (Postgres in WASM) on OPFS, in its own worker
 * (`PGliteWorker`, `opfs-ahp://`), as its documentation sets it up. The same table and
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

const SCHEMA = `
CREATE TABLE IF NOT EXISTS events (
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
CREATE UNIQUE INDEX IF NOT EXISTS events_id ON events (id);
CREATE UNIQUE INDEX IF NOT EXISTS events_stream ON events (stream, version);
CREATE INDEX IF NOT EXISTS events_category ON events (category, position);
CREATE INDEX IF NOT EXISTS events_type ON events (type, position);
CREATE INDEX IF NOT EXISTS events_routing_key ON events (routing_key, position) WHERE routing_key IS NOT NULL;`;

const HEAD = 'SELECT coalesce(max(version), 0) AS v FROM events WHERE stream = $1';
const INSERT = `INSERT INTO events (id, stream, category, version, type, data, metadata, routing_key, timestamp, schema_version)
  SELECT r.id, $1, $2, $3::integer + r.n, r.type, r.data, NULL, NULL, $4, 1
  FROM jsonb_to_recordset($5::jsonb) AS r(n integer, id text, type text, data jsonb) ORDER BY r.n`;
const COLUMNS = 'position, id, stream, category, version, type, data, metadata, routing_key, timestamp, schema_version';
const READ_LOG = `SELECT ${COLUMNS} FROM events WHERE position > $1 ORDER BY position LIMIT $2`;
const READ_STREAM = `SELECT ${COLUMNS} FROM events WHERE stream = $1 ORDER BY version`;

const nextId = createIdFactory();
const dbs = new Map<string, { pg: Promise<PGliteWorker>; worker: Worker }>();

function dataDir(name: string): string {
  return `pglite-${encodeURIComponent(name)}`;
}

function database(name: string): Promise<PGliteWorker> {
  let db = dbs.get(name);
  if (db === undefined) {
    const worker = new Worker(new URL('./pglite.worker.ts', import.meta.url), { type: 'module', name: 'pglite' });
    const pg = PGliteWorker.create(worker, { dataDir: `opfs-ahp://${dataDir(name)}`, id: name }).then(async (p) => {
      await p.exec(SCHEMA);
      return p;
    });
    db = { pg, worker };
    dbs.set(name, db);
  }
  return db.pg;
}

async function append(pg: PGliteWorker, stream: string, events: readonly { type: string; data: BenchEventData }[]): Promise<void> {
  await pg.transaction(async (tx) => {
    const head = await tx.query<{ v: number }>(HEAD, [stream]);
    const version = Number(head.rows[0]?.v ?? 0);
    const rows = events.map((e, i) => ({ n: i + 1, id: nextId(), type: e.type, data: e.data }));
    await tx.query(INSERT, [stream, categoryOf(stream), version, Date.now(), JSON.stringify(rows)]);
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
      const page = await pg.query<{ position: number }>(READ_LOG, [after, Math.min(pageSize, count - read)]);
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
      count = (await pg.query(READ_STREAM, [stream])).rows.length;
      samplesMs.push(performance.now() - t);
    }
    return { samplesMs, count };
  },

  async close({ store }) {
    const db = dbs.get(store);
    dbs.delete(store);
    if (db !== undefined) {
      await (await db.pg).close();
      db.worker.terminate();
    }
    return null;
  },

  async drop({ store }) {
    await pgliteTarget.close({ store });
    // The terminated worker's access handles are let go a moment later: retry until they are.
    const root = await navigator.storage.getDirectory();
    for (let attempt = 0; ; attempt++) {
      try {
        await root.removeEntry(dataDir(store), { recursive: true });
        return null;
      } catch (e) {
        const name = (e as { name?: string }).name;
        if (name === 'NotFoundError') return null;
        if (name !== 'NoModificationAllowedError' || attempt >= 50) throw e;
        await new Promise((resolve) => setTimeout(resolve, 100));
      }
    }
  },
};
