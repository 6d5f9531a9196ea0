/**
 * `npm run bench:tabs`: what many tabs cost, measured in Chromium on OPFS and printed as
 * medians (nothing here is asserted; the tests check behaviour, this measures it).
 *
 * - Handover: from the moment the leader goes (its tab closed, its renderer crashed, or
 *   `store.close()` called in it) to the moment a follower's append, sent once the leader
 *   is gone, is acknowledged by the new leader. Both ends read the same wall clock.
 * - Forwarding cost: sequential appends (strict durability) and `head()` reads, timed in
 *   the leader's tab and in a follower's tab, in alternating blocks; and bursts of 1,000
 *   single appends issued at once, in either tab.
 *
 * Options: `--rounds N` (handover rounds per way of ending the leader, default 7),
 * `--calls N` (timed calls per block, default 200).
 */
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import type { Page } from 'playwright-core';
import { build, preview } from 'vite';
import { launchChromium, type RunningChromium } from '../test/support/chromium.ts';
import { makeProfile, removeProfile } from '../test/support/profiles.ts';

const { values } = parseArgs({
  args: process.argv.slice(2),
  options: { rounds: { type: 'string', default: '7' }, calls: { type: 'string', default: '200' } },
});
const rounds = Number(values.rounds);
const calls = Number(values.calls);

const configFile = fileURLToPath(new URL('../test/browser/app/vite.config.ts', import.meta.url));
await build({ configFile });
const server = await preview({ configFile, preview: { host: '127.0.0.1', port: 0, strictPort: false } });
const address = server.httpServer.address();
if (address === null || typeof address === 'string') throw new Error('The harness server has no port');
const baseUrl = `http://127.0.0.1:${address.port}/`;
const profile = makeProfile();
const chrome = await launchChromium(profile);
let n = 0;

try {
  const ends: Record<string, (leader: Page, store: string) => Promise<void>> = {
    'tab closed': (leader) => leader.close(),
    'renderer crashed': async (leader) => {
      const cdp = await leader.context().newCDPSession(leader);
      void cdp.send('Page.crash').catch(() => {});
      await leader.waitForEvent('crash');
    },
    'store.close()': (leader, store) => leader.evaluate((s) => window.cairnTabs.close(s), store),
  };
  const handover: Record<string, number[]> = {};
  for (let round = 0; round < rounds; round++) {
    for (const [way, end] of Object.entries(ends)) {
      const store = `bench-tabs-${n++}-${Date.now()}`;
      const leader = await openTab(chrome, store);
      const follower = await openTab(chrome, store);
      await follower.evaluate((s) => window.cairnTabs.appendAt(s), store);
      const start = Date.now();
      await end(leader, store);
      const servedAt = await follower.evaluate((s) => window.cairnTabs.appendAt(s), store);
      (handover[way] ??= []).push(servedAt - start);
      await leader.close().catch(() => {});
      await follower.close();
    }
  }

  const store = `bench-latency-${Date.now()}`;
  const leader = await openTab(chrome, store);
  const follower = await openTab(chrome, store);
  const timed: Record<string, number[]> = {};
  for (const op of ['append', 'head'] as const) {
    // Warm both paths before timing.
    await leader.evaluate(([s, o]) => window.cairnTabs.time(s, o, 50), [store, op] as const);
    await follower.evaluate(([s, o]) => window.cairnTabs.time(s, o, 50), [store, op] as const);
    for (let block = 0; block < 3; block++) {
      for (const [who, page] of [['leader', leader], ['follower', follower]] as const) {
        const ms = await page.evaluate(([s, o, c]) => window.cairnTabs.time(s, o, c), [store, op, calls] as const);
        (timed[`${op}, ${who} tab`] ??= []).push(...ms);
      }
    }
  }

  const bursts: Record<string, number[]> = {};
  await leader.evaluate((s) => window.cairnTabs.timeBurst(s, 200), store);
  await follower.evaluate((s) => window.cairnTabs.timeBurst(s, 200), store);
  for (let block = 0; block < 5; block++) {
    for (const [who, page] of [['leader', leader], ['follower', follower]] as const) {
      (bursts[`${who} tab`] ??= []).push(await page.evaluate((s) => window.cairnTabs.timeBurst(s, 1000), store));
    }
  }

  console.log(`\nHandover (leader gone → first follower append served by the new leader), ${rounds} rounds each:`);
  for (const [way, ms] of Object.entries(handover)) {
    console.log(`  ${way.padEnd(18)} median ${median(ms).toFixed(0)} ms   (min ${Math.min(...ms)}, max ${Math.max(...ms)})`);
  }
  console.log(`\nCall latency, ${3 * calls} sequential calls each (strict durability):`);
  for (const [what, ms] of Object.entries(timed)) {
    console.log(`  ${what.padEnd(22)} median ${median(ms).toFixed(3)} ms   p90 ${quantile(ms, 0.9).toFixed(3)} ms`);
  }
  for (const op of ['append', 'head']) {
    const added = median(timed[`${op}, follower tab`]!) - median(timed[`${op}, leader tab`]!);
    console.log(`  ${op}: a follower adds ${added.toFixed(3)} ms at the median`);
  }
  console.log('\n1,000 single appends issued at once over 100 streams, 5 bursts each:');
  for (const [who, ms] of Object.entries(bursts)) {
    const rates = ms.map((m) => (1000 / m) * 1000);
    console.log(`  ${who.padEnd(13)} median ${median(rates).toFixed(0)} events/s   (min ${Math.min(...rates).toFixed(0)}, max ${Math.max(...rates).toFixed(0)})`);
  }
} finally {
  await chrome.close();
  removeProfile(profile);
  await new Promise<void>((resolve) => server.httpServer.close(() => resolve()));
}

async function openTab(browser: RunningChromium, store: string): Promise<Page> {
  const page = await browser.openPage(baseUrl);
  await page.evaluate((s) => window.cairnTabs.open(s), store);
  return page;
}

function median(xs: number[]): number {
  return quantile(xs, 0.5);
}

function quantile(xs: number[], q: number): number {
  const sorted = [...xs].sort((a, b) => a - b);
  const at = (sorted.length - 1) * q;
  const lo = Math.floor(at);
  const hi = Math.ceil(at);
  return sorted[lo]! + (sorted[hi]! - sorted[lo]!) * (at - lo);
}
