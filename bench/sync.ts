/**
 * `npm run bench -- --sync [--quick]`: sync through the server on a real PostgreSQL started
 * here with its default durability (fsync on), with devices as in-process stores (Node,
 * SQLite in memory), next to the same device's local batch appends:
 * - push: one device appends offline, then pushes everything (and gets its confirmations);
 * - catch-up: a fresh device pulls the whole log;
 * - latency: an append on device A to the handler of a subscription on device B (live
 *   stream on), p50 and p99; then the same while 10 other devices push at once.
 * Writes `bench/results/sync.json` and `sync.md`.
 */
import { mkdirSync, writeFileSync } from 'node:fs';
import { cpus, loadavg } from 'node:os';
import { fileURLToPath } from 'node:url';
import { createSyncServer } from '../server/index.ts';
import { openStore, type Store } from '../src/client/index.ts';
import { startPostgres } from '../test/server/postgres.ts';

const OUT = fileURLToPath(new URL('./results', import.meta.url));

/** The figures of one sync bench run. */
export interface SyncFigures {
  date: string;
  machine: string;
  loadAverage: [number, number];
  events: number;
  localBatchEventsPerSecond: number;
  pushEventsPerSecond: number;
  catchUpMs: number;
  catchUpEventsPerSecond: number;
  catchUpVsLocal: number;
  latency: { p50: number; p99: number; samples: number };
  latencyUnderLoad: { p50: number; p99: number; samples: number; pushers: number; pushedPerSecond: number };
}

export async function runSyncBench(quick: boolean): Promise<SyncFigures> {
  const events = quick ? 10_000 : 100_000;
  const samples = quick ? 50 : 200;
  const load0 = loadavg()[0]!;
  console.log(`Starting PostgreSQL (fsync on) and the sync server…`);
  const pg = await startPostgres({ durable: true });
  const server = await createSyncServer({ database: pg.url, log: { info() {}, warn: (m) => console.warn(m), error: (m, e) => console.error(m, e) } });
  const { url } = await server.listen({ port: 0 });
  let n = 0;
  const device = (live = false) =>
    openStore({ name: `bench-${n++}`, sync: { url, live, interval: 3_600_000 } });
  try {
    const local = await localBatch(events);
    console.log(`local batch appends: ${Math.round(local)} events/s`);
    const push = await pushThroughput(await device(), events);
    console.log(`push: ${Math.round(push)} events/s`);
    const fresh = await device();
    const started = performance.now();
    await fresh.sync.now();
    const catchUpMs = performance.now() - started;
    console.log(`catch-up of ${events} events: ${Math.round(catchUpMs)} ms`);
    await fresh.close();
    const latency = await endToEnd(await device(true), await device(true), samples);
    console.log(`latency: p50 ${latency.p50.toFixed(1)} ms, p99 ${latency.p99.toFixed(1)} ms`);
    const pushers = await Promise.all(Array.from({ length: 10 }, () => device(true)));
    const loaded = await underLoad(await device(true), await device(true), pushers, samples);
    console.log(`latency with 10 pushers: p50 ${loaded.p50.toFixed(1)} ms, p99 ${loaded.p99.toFixed(1)} ms (${Math.round(loaded.pushedPerSecond)} events/s pushed)`);
    const figures: SyncFigures = {
      date: new Date().toISOString(),
      machine: `${cpus().length} cores (${cpus()[0]?.model ?? 'unknown'}), Node ${process.version}`,
      loadAverage: [load0, loadavg()[0]!],
      events,
      localBatchEventsPerSecond: local,
      pushEventsPerSecond: push,
      catchUpMs,
      catchUpEventsPerSecond: (events / catchUpMs) * 1000,
      catchUpVsLocal: (events / catchUpMs) * 1000 / local,
      latency,
      latencyUnderLoad: { ...loaded, pushers: pushers.length },
    };
    write(figures, quick);
    return figures;
  } finally {
    await server.close();
    await pg.stop();
  }
}

/** The device's own speed: appends of 1,000 events, in-process, no sync. */
async function localBatch(events: number): Promise<number> {
  const store = await openStore({ name: 'bench-local' });
  const started = performance.now();
  for (let i = 0; i < events; i += 1000) await store.append(`local-${i % 100}`, batch(i, 1000));
  const seconds = (performance.now() - started) / 1000;
  await store.close();
  return events / seconds;
}

/** Appends offline in calls of 1,000, then times one `sync.now()`: the push and its confirmations. */
async function pushThroughput(store: Store, events: number): Promise<number> {
  for (let i = 0; i < events; i += 1000) await store.append(`push-${i % 100}`, batch(i, 1000));
  const started = performance.now();
  await store.sync.now();
  const seconds = (performance.now() - started) / 1000;
  if (store.sync.status.pending !== 0) throw new Error('the push left events pending');
  await store.close();
  return events / seconds;
}

/** Single appends on `a`, each awaited until `b`'s subscription has handled it. */
async function endToEnd(a: Store, b: Store, samples: number): Promise<{ p50: number; p99: number; samples: number }> {
  await a.sync.now();
  await b.sync.now();
  const seen = new Map<number, () => void>();
  b.subscribe({ category: 'ping' }, (e) => seen.get((e.data as { i: number }).i)?.());
  const times: number[] = [];
  for (let i = 0; i < samples; i++) {
    const arrived = new Promise<void>((resolve) => seen.set(i, resolve));
    const started = performance.now();
    await a.append('ping-1', [{ type: 'Ping', data: { i } }]);
    await arrived;
    times.push(performance.now() - started);
  }
  await Promise.all([a.close(), b.close()]);
  return { ...percentiles(times), samples };
}

/** The same latency while `pushers` append single events as fast as they are acknowledged. */
async function underLoad(a: Store, b: Store, pushers: Store[], samples: number) {
  let running = true;
  let pushed = 0;
  const started = performance.now();
  const loops = pushers.map(async (p, k) => {
    for (let i = 0; running; i++) {
      await p.append(`load-${k}`, [{ type: 'Load', data: { i } }]);
      pushed++;
    }
  });
  const latency = await endToEnd(a, b, samples);
  running = false;
  await Promise.all(loops);
  const seconds = (performance.now() - started) / 1000;
  await Promise.all(pushers.map((p) => p.sync.now().catch(() => {})));
  await Promise.all(pushers.map((p) => p.close()));
  return { ...latency, pushedPerSecond: pushed / seconds };
}

function batch(from: number, size: number) {
  return Array.from({ length: size }, (_, i) => ({ type: 'Added', data: { i: from + i, sku: `SKU-${(from + i) % 997}`, qty: 1, note: 'x'.repeat(120) } }));
}

function percentiles(times: number[]): { p50: number; p99: number } {
  const sorted = [...times].sort((x, y) => x - y);
  const at = (q: number): number => sorted[Math.min(sorted.length - 1, Math.floor(q * sorted.length))]!;
  return { p50: at(0.5), p99: at(0.99) };
}

function write(f: SyncFigures, quick: boolean): void {
  mkdirSync(OUT, { recursive: true });
  const base = quick ? 'quick-sync' : 'sync';
  writeFileSync(`${OUT}/${base}.json`, `${JSON.stringify(f, null, 2)}\n`);
  const target = f.catchUpVsLocal >= 0.5 ? 'met' : '**not met**';
  const md = `### Sync (${f.date}, ${f.machine}, load average ${f.loadAverage[0].toFixed(1)}→${f.loadAverage[1].toFixed(1)})

PostgreSQL 15 with fsync on, the sync server and the devices (in-process stores, SQLite in memory) on one machine; ${f.events.toLocaleString('en')} events of about 200 bytes.

| Figure | Value |
|---|---:|
| Local batch appends (calls of 1,000), the device's own speed | ${Math.round(f.localBatchEventsPerSecond).toLocaleString('en')} events/s |
| Push from one device (appended offline, then one \`sync.now()\`: push and confirmations) | ${Math.round(f.pushEventsPerSecond).toLocaleString('en')} events/s |
| Catch-up of a fresh device (pull of the whole log) | ${Math.round(f.catchUpMs).toLocaleString('en')} ms (${Math.round(f.catchUpEventsPerSecond).toLocaleString('en')} events/s) |
| Catch-up ÷ local batch appends (target ≥ 0.5) | ${f.catchUpVsLocal.toFixed(2)}× (${target}) |
| Append on A → subscription handler on B, live stream (${f.latency.samples} samples) | p50 ${f.latency.p50.toFixed(1)} ms, p99 ${f.latency.p99.toFixed(1)} ms |
| The same while ${f.latencyUnderLoad.pushers} devices push single appends (${Math.round(f.latencyUnderLoad.pushedPerSecond).toLocaleString('en')} events/s) | p50 ${f.latencyUnderLoad.p50.toFixed(1)} ms, p99 ${f.latencyUnderLoad.p99.toFixed(1)} ms |
`;
  writeFileSync(`${OUT}/${base}.md`, md);
  console.log(md);
}
