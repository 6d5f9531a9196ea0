/**
 * Measures `aggregate.handle` latency in headless Chromium on OPFS (strict durability) for
 * an aggregate whose stream already holds 10,000 events: with no snapshots (every handle
 * folds the whole stream) and with `snapshotEvery: 100` (snapshot plus at most 100 events).
 * Prints medians and p90 over the measured calls, and the load average.
 *
 *   node scripts/aggregate-latency.mjs [events] [calls]
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { loadavg, tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { chromium } from 'playwright-core';
import { build, preview } from 'vite';

const events = Number(process.argv[2] ?? 10_000);
const calls = Number(process.argv[3] ?? 50);
const configFile = fileURLToPath(new URL('../test/browser/app/vite.config.ts', import.meta.url));
await build({ configFile, logLevel: 'error' });
const server = await preview({ configFile, preview: { host: '127.0.0.1', port: 0 } });
const address = server.httpServer.address();
const url = `http://127.0.0.1:${typeof address === 'object' && address ? address.port : 0}/`;
const profile = mkdtempSync(join(tmpdir(), 'cairn-aggregate-'));
const context = await chromium.launchPersistentContext(profile, {
  executablePath: process.env.CAIRN_CHROMIUM ?? '/usr/bin/chromium',
  headless: true,
  args: ['--no-sandbox', '--disable-gpu', '--disable-background-networking', '--disable-component-update', '--disable-sync', '--no-first-run'],
});
const load = () => loadavg().map((x) => x.toFixed(2)).join(', ');
try {
  console.log(`load average at start: ${load()}`);
  const page = await context.newPage();
  await page.goto(url);
  await page.waitForFunction(() => document.title === 'ready');
  const result = await page.evaluate(
    async ([events, calls]) => {
      const { openStore } = window.cairnTest.cairn;
      const store = await openStore({ name: `aggregate-latency-${Date.now()}`, storage: 'opfs' });
      const counter = (snapshotEvery) => ({
        category: 'counter',
        initialState: { n: 0, total: 0 },
        evolve: (s, e) => ({ n: s.n + 1, total: s.total + e.data.by }),
        decide: (c) => [{ type: 'Added', data: { by: c.by, pad: 'x'.repeat(150) } }],
        ...(snapshotEvery ? { snapshotEvery } : {}),
      });
      for (let i = 0; i < events; i += 1000) {
        await store.append('counter-a', Array.from({ length: Math.min(1000, events - i) }, () => ({ type: 'Added', data: { by: 1, pad: 'x'.repeat(150) } })));
      }
      const q = (xs, p) => [...xs].sort((a, b) => a - b)[Math.floor((xs.length - 1) * p)];
      const measure = async (aggregate) => {
        const times = [];
        for (let i = 0; i < calls; i++) {
          const t0 = performance.now();
          await aggregate.handle('a', { by: 1 });
          times.push(performance.now() - t0);
        }
        return { median: q(times, 0.5), p90: q(times, 0.9) };
      };
      const plain = store.aggregate(counter(undefined));
      const withoutSnapshots = await measure(plain);
      const snapshotting = store.aggregate(counter(100));
      // Cross a multiple of 100 so a snapshot exists, and let it be written.
      for (let i = 0; i < 100; i++) await snapshotting.handle('a', { by: 1 });
      await new Promise((r) => setTimeout(r, 50));
      const withSnapshots = await measure(snapshotting);
      const final = await plain.load('a');
      await store.close();
      return { withoutSnapshots, withSnapshots, version: final.version };
    },
    [events, calls],
  );
  console.log(`stream of ${events} events (final version ${result.version}), ${calls} calls each:`);
  console.log(`  no snapshots:          median ${result.withoutSnapshots.median.toFixed(1)} ms, p90 ${result.withoutSnapshots.p90.toFixed(1)} ms`);
  console.log(`  snapshotEvery: 100:    median ${result.withSnapshots.median.toFixed(1)} ms, p90 ${result.withSnapshots.p90.toFixed(1)} ms`);
  console.log(`load average at end: ${load()}`);
} finally {
  await context.close();
  server.httpServer.close();
  rmSync(profile, { recursive: true, force: true, maxRetries: 20, retryDelay: 100 });
}
