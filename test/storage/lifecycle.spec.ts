/**
 * A tab's store outlives its worker and the page's lifecycle, in Chromium:
 * - its worker terminated: the tab starts a new one, which rejoins as leader or follower, and
 *   the calls made meanwhile are re-sent (a subscription goes on too);
 * - the page restored from the back/forward cache (a real navigation, with the cache on):
 *   its worker was stopped on pagehide, and a new one serves it again;
 * - the leader tab frozen (`Page.setWebLifecycleState`, on a Chromium started by hand): its
 *   worker is stopped on `freeze`, another tab leads within moments, and on `resume` the
 *   frozen tab rejoins as a follower.
 */
import { chromium, type Page } from '@playwright/test';
import type { Page as BarePage } from 'playwright-core';
import { CHROMIUM_ARGS, CHROMIUM_PATH } from '../support/browsers.ts';
import { makeProfile, removeProfile } from '../fixtures.ts';
import { launchBareChromium } from './chromium-by-hand.ts';
import { expect, openHarness, test } from './fixtures.ts';

/** Opens `name` on OPFS with a worker the harness can kill, and keeps it on the page. */
const openTracked = (page: Page | BarePage, name: string, leaderTimeout = 10_000) =>
  page.evaluate(
    async ([n, t]) => {
      const { cairn, stores, trackedWorker } = window.storageTest;
      const store = await cairn.openStore({ name: n as string, storage: 'opfs', worker: trackedWorker(n as string), leaderTimeout: t as number });
      stores.set(n as string, store);
      return store.role;
    },
    [name, leaderTimeout] as const,
  );

const append = (page: Page | BarePage, name: string, type: string) =>
  page.evaluate(
    async ([n, t]) => {
      const store = window.storageTest.stores.get(n!)!;
      const started = performance.now();
      const r = await store.append('s-1', [{ type: t! }]);
      return { version: r.version, ms: performance.now() - started, role: store.role };
    },
    [name, type],
  );

test('a terminated worker is replaced: calls made meanwhile are re-sent, a subscription goes on, the role follows the election', async ({ persistent, harnessUrl }) => {
  const a = await persistent.newPage();
  const b = await persistent.newPage();
  await openHarness(a, harnessUrl);
  await openHarness(b, harnessUrl);
  expect(await openTracked(a, 'revive')).toBe('leader');
  expect(await openTracked(b, 'revive')).toBe('follower');
  const r = await a.evaluate(async () => {
    const { stores, killWorker, workersStarted } = window.storageTest;
    const store = stores.get('revive')!;
    const seen: string[] = [];
    const roles: string[] = [];
    store.onRoleChange((role) => roles.push(role));
    store.subscribe({}, (e) => void seen.push(e.type));
    await store.append('s-1', [{ type: 'Before' }]);
    killWorker('revive');
    // Made at once, while there is no worker: held, then sent to the new one.
    const during = await Promise.all([store.append('s-1', [{ type: 'During-1' }]), store.append('s-2', [{ type: 'During-2' }])]);
    const after = await store.append('s-1', [{ type: 'After' }]);
    while (seen.length < 4) await new Promise((res) => setTimeout(res, 10));
    return { during: during.map((x) => x.version), after: after.version, seen, roles, role: store.role, workers: workersStarted('revive') };
  });
  expect(r.workers).toBe(2);
  expect(r.during).toEqual([2, 1]);
  expect(r.after).toBe(3);
  expect(r.seen).toEqual(['Before', 'During-1', 'During-2', 'After']);
  // The other tab was waiting for the lock: it leads now, and this tab follows it.
  expect(r.role).toBe('follower');
  expect(r.roles).toEqual(['follower']);
  expect(await append(b, 'revive', 'FromB')).toMatchObject({ version: 4, role: 'leader' });
  // With no other tab, the new worker leads.
  const alone = await b.evaluate(async () => {
    const { stores, killWorker, workersStarted } = window.storageTest;
    const store = stores.get('revive')!;
    await stores.get('revive')!.head();
    killWorker('revive');
    return { version: (await store.append('s-1', [{ type: 'Alone' }])).version, workers: workersStarted('revive'), role: store.role };
  });
  await a.close();
  expect(alone).toMatchObject({ version: 5, workers: 2 });
});

test('a page restored from the back/forward cache serves its store again with a new worker', async ({ harnessUrl }) => {
  const profile = makeProfile();
  const context = await chromium.launchPersistentContext(profile, {
    executablePath: CHROMIUM_PATH,
    args: CHROMIUM_ARGS,
    headless: true,
    ignoreDefaultArgs: ['--disable-back-forward-cache'],
  });
  try {
    const page = await context.newPage();
    await openHarness(page, harnessUrl);
    await openTracked(page, 'bfcache');
    expect(await append(page, 'bfcache', 'Before')).toMatchObject({ version: 1 });
    await page.goto(`${harnessUrl}?elsewhere`);
    await page.waitForFunction(() => document.title === 'ready');
    // A page restored from the cache fires no load event: wait for the commit only.
    await page.goBack({ waitUntil: 'commit' });
    await page.waitForFunction(() => document.title === 'ready');
    const restored = await page.evaluate(() => ({
      shows: window.storageTest.shows,
      reasons: JSON.stringify((performance.getEntriesByType('navigation')[0] as unknown as { notRestoredReasons?: unknown })?.notRestoredReasons ?? null),
    }));
    expect(restored.shows, `not restored from the back/forward cache: ${restored.reasons}`).toEqual({ persisted: true, count: 2 });
    expect(await append(page, 'bfcache', 'After')).toMatchObject({ version: 2, role: 'leader' });
    expect(await page.evaluate(() => window.storageTest.workersStarted('bfcache'))).toBe(2);
  } finally {
    await context.close();
    removeProfile(profile);
  }
});

test('a frozen leader tab hands over at once, and rejoins as a follower when resumed', async ({ harnessUrl }) => {
  const profile = makeProfile();
  const browser = await launchBareChromium(profile);
  try {
    const context = browser.bare.contexts()[0]!;
    const [a, b] = [await context.newPage(), await context.newPage()];
    for (const p of [a, b]) {
      await p.goto(harnessUrl);
      await p.waitForFunction(() => document.title === 'ready');
    }
    expect(await openTracked(a, 'frozen')).toBe('leader');
    expect(await openTracked(b, 'frozen', 5000)).toBe('follower');
    expect(await append(a, 'frozen', 'One')).toMatchObject({ version: 1 });
    const cdp = await context.newCDPSession(a);
    await cdp.send('Page.setWebLifecycleState', { state: 'frozen' });
    // Within B's leaderTimeout of 5 s: without the handover it would wait for A until NO_LEADER.
    const fromB = await append(b, 'frozen', 'Two');
    expect(fromB).toMatchObject({ version: 2, role: 'leader' });
    expect(fromB.ms).toBeLessThan(5000);
    await cdp.send('Page.setWebLifecycleState', { state: 'active' });
    expect(await append(a, 'frozen', 'Three')).toMatchObject({ version: 3, role: 'follower' });
    expect(await a.evaluate(() => window.storageTest.workersStarted('frozen'))).toBe(2);
  } finally {
    await browser.close();
    removeProfile(profile);
  }
});
