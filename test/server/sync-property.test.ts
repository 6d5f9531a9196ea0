/**
 * A property of sync, over random schedules: three devices append to a few shared streams
 * (with `'any'`, `'no_stream'` and exact expected versions, as an app deciding on what it
 * last saw would), go offline and online, sync now and then, and restart; at the end all
 * are online and sync until nothing moves. Then:
 * - every device holds the same events per stream, at the same versions, as the server;
 * - every event is there once;
 * - every acknowledged local append is on the server whole, or listed whole as a conflict
 *   of the device that made it (never half, never lost);
 * - every device's projection equals a rebuild from the converged log.
 * The seed is printed; CAIRN_SEED replays one.
 */
import { afterAll, beforeAll, expect, it } from 'vitest';
import { openStore, type Projection, type Store } from '../../src/client/index.ts';
import type { SqlDriver } from '../../src/core/driver.ts';
import { createSqliteWasmDriver } from '../../src/core/sqlite-wasm-driver.ts';
import { loadSqlite } from '../../src/core/sqlite-wasm.ts';
import { createRandom, seedFromEnv, type Random } from '../support/random.ts';
import { createDatabase, startServer, type Running } from './helpers.ts';

const SEED = seedFromEnv(0x5e7c_2026);
const RUNS = 12;
const STEPS = 45;

let server: Running;
beforeAll(async () => {
  // Each run is a tenant of its own: its token names it.
  server = await startServer({ database: await createDatabase(), authorize: async (r) => (r.token ? { tenant: r.token } : null) });
});
afterAll(async () => server?.server.close());

const counts: Projection = {
  name: 'counts',
  version: 1,
  setup: (db) => db.exec('CREATE TABLE counts (stream TEXT PRIMARY KEY, n INTEGER NOT NULL, last TEXT NOT NULL)'),
  handle: (e, db) => void db.run('INSERT INTO counts VALUES (?, 1, ?) ON CONFLICT (stream) DO UPDATE SET n = n + 1, last = excluded.last', [e.stream, e.id]),
};

interface Device {
  name: string;
  driver: SqlDriver;
  store: Store;
  online: boolean;
}

interface Acked {
  device: number;
  stream: string;
  ids: string[];
}

async function device(name: string, tenant: string): Promise<Device> {
  const sqlite3 = await loadSqlite();
  const real = createSqliteWasmDriver(sqlite3, new sqlite3.oo1.DB(':memory:', 'c'));
  const d = { name, driver: { ...real, close: () => {} }, online: true } as Device;
  d.store = await open(d, tenant);
  return d;
}

function open(d: Device, tenant: string): Promise<Store> {
  return openStore({
    name: d.name,
    driver: d.driver,
    projections: [counts],
    sync: {
      url: server.url,
      token: () => tenant,
      live: false,
      interval: 3_600_000,
      fetch: (input, init) => (d.online ? fetch(input, init) : Promise.reject(new TypeError('fetch failed: offline'))),
    },
  });
}

/** Every stream's events as [version, id], by stream. */
async function byStream(store: Store): Promise<Record<string, [number, string][]>> {
  const out: Record<string, [number, string][]> = {};
  for await (const e of store.events()) (out[e.stream] ??= []).push([e.version, e.id]);
  for (const list of Object.values(out)) list.sort((a, b) => a[0] - b[0]);
  return out;
}

async function step(r: Random, devices: Device[], tenant: string, acked: Acked[], streams: string[]): Promise<void> {
  const i = r.int(devices.length);
  const d = devices[i]!;
  const action = r.pick(['append', 'append', 'append', 'toggle', 'sync', 'restart']);
  if (action === 'toggle') d.online = !d.online;
  else if (action === 'restart') {
    await d.store.close();
    d.store = await open(d, tenant);
  } else if (action === 'sync') {
    await d.store.sync.now().catch(() => {});
  } else {
    const stream = r.pick(streams);
    const [last] = await d.store.readStream(stream, { direction: 'backward', limit: 1 });
    const seen = last?.version ?? 0;
    const expectedVersion = r.pick<number | 'any' | 'no_stream'>(['any', seen, seen, 'no_stream']);
    const events = Array.from({ length: r.between(1, 3) }, (_, k) => ({ type: 'Added', data: { by: d.name, k } }));
    try {
      const result = await d.store.append(stream, events, { expectedVersion });
      acked.push({ device: i, stream, ids: result.ids });
    } catch {
      // A conflict with what this device already has: refused at once, nothing written.
    }
  }
}

async function settle(devices: Device[]): Promise<void> {
  for (const d of devices) d.online = true;
  for (let round = 0; round < 4; round++) for (const d of devices) await d.store.sync.now();
}

it(`converges over ${RUNS} random schedules of ${STEPS} steps on three devices`, async () => {
  const root = createRandom(SEED);
  let appended = 0;
  let conflicts = 0;
  for (let run = 0; run < RUNS; run++) {
    const r = root.fork(run);
    const tenant = `t-${SEED}-${run}-${Date.now()}`;
    const devices = await Promise.all(['a', 'b', 'c'].map((x) => device(`${tenant}-${x}`, tenant)));
    const streams = ['cart-1', 'cart-2', 'order-1'];
    const acked: Acked[] = [];
    for (let s = 0; s < STEPS; s++) await step(r, devices, tenant, acked, streams);
    await settle(devices);

    const logs = await Promise.all(devices.map((d) => byStream(d.store)));
    const context = `seed ${SEED}, run ${run}`;
    expect(logs[1], context).toEqual(logs[0]);
    expect(logs[2], context).toEqual(logs[0]);
    const ids = Object.values(logs[0]!).flat().map(([, id]) => id);
    expect(new Set(ids).size, `${context}: an event twice`).toBe(ids.length);
    for (const list of Object.values(logs[0]!)) expect(list.map(([v]) => v), context).toEqual(list.map((_, k) => k + 1));

    const everything = new Set(ids);
    const refused = await Promise.all(devices.map(async (d) => new Set((await d.store.sync.conflicts()).flatMap((c) => c.events.map((e) => e.id)))));
    for (const a of acked) {
      const stored = a.ids.filter((id) => everything.has(id)).length;
      const listed = a.ids.filter((id) => refused[a.device]!.has(id)).length;
      expect(stored === a.ids.length || listed === a.ids.length, `${context}: ${a.stream} ${a.ids.join(',')} stored ${stored}, listed ${listed}`).toBe(true);
    }
    // The projection of each device equals a rebuild from the converged log (a new device's).
    const fresh = await device(`${tenant}-fresh`, tenant);
    await fresh.store.sync.now();
    const expected = await fresh.store.query('SELECT * FROM counts ORDER BY stream');
    for (const d of devices) expect(await d.store.query('SELECT * FROM counts ORDER BY stream'), `${context}: ${d.name}`).toEqual(expected);
    appended += acked.length;
    conflicts += refused.reduce((n, s) => n + s.size, 0);
    await Promise.all([...devices, fresh].map((d) => d.store.close()));
  }
  console.log(`[sync-property] seed ${SEED}: ${RUNS} schedules of ${STEPS} steps, ${appended} acknowledged appends, ${conflicts} events in conflicts, all converged`);
}, 240_000);
