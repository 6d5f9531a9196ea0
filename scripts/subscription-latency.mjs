/**
 * Measures append→handler latency of a subscription in headless Chromium: the time from
 * calling `store.append` to a subscription's handler receiving that event, one append at a
 * time (the next starts once the handler has run). Prints medians.
 *
 * - Same tab: the subscription is in the tab that appends (OPFS strict and relaxed, memory).
 * - Other tab (OPFS, strict): two tabs on one store; one appends, the other's subscription
 *   receives, in both directions (the leader tab appends to a follower's subscription, and
 *   the reverse). The two tabs' clocks (`performance.timeOrigin + performance.now()`) are
 *   compared first with a BroadcastChannel ping-pong (NTP-style, the sample with the
 *   shortest round trip), and each handler's time is corrected by that offset.
 *
 *   node scripts/subscription-latency.mjs [iterations]
 *
 * It builds the browser test harness (test/browser/app) and drives it with playwright-core
 * on a persistent profile (ephemeral contexts make OPFS commits far slower; FINDINGS.md).
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { loadavg, tmpdir } from 'node:os';
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
const load = () => loadavg().map((x) => x.toFixed(2)).join(', ');
const f = (x) => `${x.toFixed(2)} ms`;
const openPage = async () => {
  const page = await context.newPage();
  await page.goto(url);
  await page.waitForFunction(() => document.title === 'ready');
  return page;
};
try {
  console.log(`load average at start: ${load()}`);
  const page = await openPage();
  console.log('Same tab:');
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
    console.log(
      `  ${r.storage.padEnd(6)} ${durability.padEnd(7)} append resolved: ${f(r.appendMedian)} median; ` +
        `handler called: ${f(r.handlerMedian)} median, ${f(r.handlerP90)} p90 (n=${iterations})`,
    );
  }
  await page.close();

  console.log('Other tab (opfs, strict):');
  const name = `latency-tabs-${Date.now()}`;
  const leader = await openPage();
  const follower = await openPage();
  for (const tab of [leader, follower]) {
    await tab.evaluate(async (name) => {
      window.latency = { store: await window.cairnTest.cairn.openStore({ name, storage: 'opfs', durability: 'strict' }) };
    }, name);
  }
  const roles = await Promise.all([leader, follower].map((tab) => tab.evaluate(() => window.latency.store.role)));
  if (roles.join() !== 'leader,follower') throw new Error(`Unexpected roles: ${roles}`);
  for (const [what, tag, appender, subscriber] of [
    ['leader tab appends, follower tab handles', 'to-follower', leader, follower],
    ['follower tab appends, leader tab handles', 'to-leader', follower, leader],
  ]) {
    const r = await crossTab(appender, subscriber, tag);
    console.log(
      `  ${what}: handler called ${f(r.handlerMedian)} median, ${f(r.handlerP90)} p90 ` +
        `(append resolved ${f(r.appendMedian)} median; clock offset ${f(r.offset)}; n=${iterations})`,
    );
  }
  await leader.close();
  await follower.close();
  console.log(`load average at end: ${load()}`);
} finally {
  await context.close();
  await new Promise((resolve) => server.httpServer.close(resolve));
  rmSync(profile, { recursive: true, force: true, maxRetries: 10, retryDelay: 100 });
}

/**
 * Appends in `appender` one event at a time and times each to the call of a handler in
 * `subscriber`, which tells `appender` over a BroadcastChannel when it ran.
 */
async function crossTab(appender, subscriber, tag) {
  // The subscriber answers clock pings and reports each event its handler receives.
  await subscriber.evaluate((tag) => {
    const now = () => performance.timeOrigin + performance.now();
    const clock = new BroadcastChannel(`clock-${tag}`);
    clock.onmessage = (m) => {
      const t1 = now();
      clock.postMessage({ k: m.data.k, t1, t2: now() });
    };
    const acks = new BroadcastChannel(`acks-${tag}`);
    window.latency.sub = window.latency.store.subscribe(
      { stream: `lat-${tag}` },
      (e) => acks.postMessage({ i: e.data.i, t: now() }),
      { from: 'end' },
    );
    window.latency.channels = [clock, acks];
  }, tag);
  const r = await appender.evaluate(
    async ([tag, n]) => {
      const now = () => performance.timeOrigin + performance.now();
      const clock = new BroadcastChannel(`clock-${tag}`);
      const acks = new BroadcastChannel(`acks-${tag}`);
      let next = () => {};
      clock.onmessage = acks.onmessage = (m) => next(m.data);
      const reply = () => new Promise((resolve) => (next = resolve));
      // The subscriber's clock minus this tab's, from the ping with the shortest round trip.
      let best = { rtt: Infinity, offset: 0 };
      for (let k = 0; k < 200; k++) {
        const t0 = now();
        const got = reply();
        clock.postMessage({ k });
        const { t1, t2 } = await got;
        const t3 = now();
        const rtt = t3 - t0 - (t2 - t1);
        if (rtt < best.rtt) best = { rtt, offset: (t1 - t0 + (t2 - t3)) / 2 };
      }
      const store = window.latency.store;
      const append = [];
      const handler = [];
      for (let i = 0; i < n + 20; i++) {
        const got = reply();
        const t0 = now();
        await store.append(`lat-${tag}`, [{ type: 'Ping', data: { i, pad: 'x'.repeat(150) } }]);
        const t1 = now();
        const ack = await got;
        if (ack.i !== i) throw new Error(`Expected event ${i}, the handler got ${ack.i}`);
        // The first 20 warm up the statement caches and the JIT.
        if (i >= 20) {
          append.push(t1 - t0);
          handler.push(ack.t - best.offset - t0);
        }
      }
      clock.close();
      acks.close();
      const q = (xs, p) => [...xs].sort((a, b) => a - b)[Math.floor((xs.length - 1) * p)];
      return { appendMedian: q(append, 0.5), handlerMedian: q(handler, 0.5), handlerP90: q(handler, 0.9), offset: best.offset };
    },
    [tag, iterations],
  );
  await subscriber.evaluate(() => {
    window.latency.sub.close();
    for (const c of window.latency.channels) c.close();
  });
  return r;
}
