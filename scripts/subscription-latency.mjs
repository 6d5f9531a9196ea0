/**
 * Measures append→handler latency of a subscription in the same tab, in headless Chromium:
 * the time from calling `store.append` to the subscription's handler receiving that event,
 * one append at a time (the next starts once the handler has run). Prints medians.
 *
 *   node scripts/subscription-latency.mjs [iterations]
 *
 * It builds the browser test harness (test/browser/app) and drives it with playwright-core
 * on a persistent profile (ephemeral contexts make OPFS commits far slower; FINDINGS.md).
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { chromium } from 'playwright-core';
import { build, preview } from 'vite';

const iterations = Number(process.argv[2] ?? 300);
const configFile = fileURLToPath(new URL('../test/browser/app/vite.config.ts', import.meta.url));
await build({ configFile, logLevel: 'error' });
const server = await preview({ configFile, preview: { host: '127.0.0.1', port: 0 } });
const address = server.httpServer.address();
const url = `http://127.0.0.1:${typeof address === 'object' && address ? address.port : 0}/`;
const profile = mkdtempSync(join(tmpdir(), 'cairn-latency-'));
const context = await chromium.launchPersistentContext(profile, {
  executablePath: process.env.CAIRN_CHROMIUM ?? '/usr/bin/chromium',
  headless: true,
  args: ['--no-sandbox', '--disable-gpu', '--disable-dev-shm-usage'],
});
try {
  const page = await context.newPage();
  await page.goto(url);
  await page.waitForFunction(() => document.title === 'ready');
  for (const [storage, durability] of [['opfs', 'strict'], ['opfs', 'relaxed'], ['memory', 'strict']]) {
    const r = await page.evaluate(
      async ([storage, durability, n]) => {
        const { openStore } = window.cairnTest.cairn;
        const store = await openStore({ name: `latency-${storage}-${durability}-${Date.now()}`, storage, durability });
        let arrived = () => {};
        const sub = store.subscribe({ stream: 'lat-1' }, () => arrived(), { from: 'end' });
        const append = [];
        const handler = [];
        for (let i = 0; i < n + 20; i++) {
          const got = new Promise((resolve) => (arrived = resolve));
          const t0 = performance.now();
          await store.append('lat-1', [{ type: 'Ping', data: { i, pad: 'x'.repeat(150) } }]);
          const t1 = performance.now();
          await got;
          const t2 = performance.now();
          // The first 20 warm up the statement caches and the JIT.
          if (i >= 20) {
            append.push(t1 - t0);
            handler.push(t2 - t0);
          }
        }
        sub.close();
        await store.close();
        const q = (xs, p) => [...xs].sort((a, b) => a - b)[Math.floor((xs.length - 1) * p)];
        return {
          storage: store.storage,
          appendMedian: q(append, 0.5),
          handlerMedian: q(handler, 0.5),
          handlerP90: q(handler, 0.9),
        };
      },
      [storage, durability, iterations],
    );
    const f = (x) => `${x.toFixed(2)} ms`;
    console.log(
      `${r.storage.padEnd(6)} ${durability.padEnd(7)} append resolved: ${f(r.appendMedian)} median; ` +
        `handler called: ${f(r.handlerMedian)} median, ${f(r.handlerP90)} p90 (n=${iterations})`,
    );
  }
} finally {
  await context.close();
  await new Promise((resolve) => server.httpServer.close(resolve));
  rmSync(profile, { recursive: true, force: true, maxRetries: 10, retryDelay: 100 });
}
