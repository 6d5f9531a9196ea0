/**
 * A full origin, and asking to keep the data. Chromium's quota is set small through the
 * DevTools protocol (`Storage.overrideQuotaForOrigin`; `navigator.storage.estimate()` does
 * not see the override, `Storage.getUsageAndQuota` does). A write that does not fit fails
 * with QUOTA_EXCEEDED and keeps nothing, the rest of its group commits, and the store goes
 * on serving reads and smaller writes, on OPFS and on IndexedDB alike.
 */
import type { CDPSession, Page } from '@playwright/test';
import { waitForTitle } from '../fixtures.ts';
import { expect, openHarness, test } from './fixtures.ts';

/** Opens `name` on `storage`, keeps it on the page, and appends a few small events. */
async function openWarm(page: Page, name: string, storage: 'opfs' | 'indexeddb'): Promise<void> {
  await page.evaluate(
    async ([n, s]) => {
      const { cairn, stores } = window.storageTest;
      const store = await cairn.openStore({ name: n!, storage: s as 'opfs', maxEventBytes: 8 * 1024 * 1024 });
      stores.set(n!, store);
      for (let i = 0; i < 5; i++) await store.append('warm', [{ type: 'Warm', data: { i } }]);
    },
    [name, storage],
  );
}

/** Sets the origin's quota to its current usage plus `room` bytes. */
async function squeeze(cdp: CDPSession, origin: string, room: number): Promise<number> {
  const { usage } = (await cdp.send('Storage.getUsageAndQuota', { origin })) as { usage: number };
  await cdp.send('Storage.overrideQuotaForOrigin', { origin, quotaSize: Math.ceil(usage + room) });
  return usage;
}

/** A group of appends, the second one too big for the room left; then what the store still does. */
const overQuota = (page: Page, name: string) =>
  page.evaluate(async (n) => {
    const { stores, caught } = window.storageTest;
    const store = stores.get(n)!;
    // Random, so that no storage layer can compress it below the room left.
    const bytes = new Uint8Array(3 * 1024 * 1024);
    for (let at = 0; at < bytes.length; at += 65536) crypto.getRandomValues(bytes.subarray(at, at + 65536));
    const big = Array.from(bytes, (b) => b.toString(16).padStart(2, '0')).join('');
    const outcomes = await Promise.allSettled([
      store.append('small-1', [{ type: 'Small' }]),
      store.append('big', [{ type: 'Big', data: big }]),
      store.append('small-2', [{ type: 'Small' }]),
    ]);
    const second = outcomes[1]!;
    const failure = second.status === 'rejected' ? await caught(() => Promise.reject(second.reason)) : null;
    const after = await store.append('small-3', [{ type: 'Small' }]).then((r) => r.version, (e: Error) => e.message);
    const streams = (await store.read({}, { first: 100 })).edges.map((e) => e.node.stream);
    return { statuses: outcomes.map((o) => o.status), failure, after, streams };
  }, name);

const reread = (page: Page, name: string, storage: string) =>
  page.evaluate(
    async ([n, s]) => {
      const store = await window.storageTest.cairn.openStore({ name: n!, storage: s as 'opfs' });
      const streams = (await store.read({}, { first: 100 })).edges.map((e) => e.node.stream);
      const integrity = await store.query('PRAGMA integrity_check');
      await store.close();
      return { streams, integrity };
    },
    [name, storage],
  );

const EXPECTED_STREAMS = ['warm', 'warm', 'warm', 'warm', 'warm', 'small-1', 'small-2', 'small-3'];

for (const storage of ['indexeddb', 'opfs'] as const) {
  test(`Chromium, ${storage}: a write over the quota is QUOTA_EXCEEDED, its group's other appends commit, and the store serves on`, async ({ persistent, harnessUrl }) => {
    const page = await persistent.newPage();
    await openHarness(page, harnessUrl);
    const cdp = await persistent.newCDPSession(page);
    const origin = new URL(harnessUrl).origin;
    const name = `quota-${storage}`;
    // Chromium's IndexedDB takes the quota in force when a database is opened (an override
    // set later is not enforced on it), and OPFS cannot even install the pool in a tight
    // quota: so the quota comes first for IndexedDB, after the pool for OPFS.
    if (storage === 'indexeddb') await squeeze(cdp, origin, 2 * 1024 * 1024);
    await openWarm(page, name, storage);
    if (storage === 'opfs') await squeeze(cdp, origin, 2 * 1024 * 1024);
    const r = await overQuota(page, name);
    expect(r.statuses).toEqual(['fulfilled', 'rejected', 'fulfilled']);
    expect(r.failure).toMatchObject({ code: 'QUOTA_EXCEEDED', name: 'QuotaExceededError', isCairnError: true });
    expect(r.after).toBe(1);
    expect(r.streams).toEqual(EXPECTED_STREAMS);
    await page.evaluate((n) => window.storageTest.stores.get(n)!.close(), name);
    await cdp.send('Storage.overrideQuotaForOrigin', { origin });
    // Nothing of the refused write was kept, and the database is sound.
    expect(await reread(page, name, storage)).toEqual({ streams: EXPECTED_STREAMS, integrity: [{ integrity_check: 'ok' }] });
  });
}

test('Chromium: persist() is false until the origin is granted persistent storage, then true; estimate() reports it', async ({ persistent, harnessUrl }) => {
  const page = await persistent.newPage();
  await openHarness(page, harnessUrl);
  const origin = new URL(harnessUrl).origin;
  const before = await page.evaluate(async () => {
    const store = await window.storageTest.cairn.openStore({ name: 'persist-1' });
    const started = performance.now();
    const granted = await store.persist();
    const ms = performance.now() - started;
    const estimate = await store.estimate();
    await store.close();
    return { granted, ms, estimate };
  });
  expect(before.granted).toBe(false);
  expect(before.ms).toBeLessThan(1500);
  expect(before.estimate.persisted).toBe(false);
  expect(before.estimate.usage).toBeGreaterThan(0);
  expect(before.estimate.quota).toBeGreaterThan(before.estimate.usage!);
  const cdp = await persistent.newCDPSession(page);
  await cdp.send('Browser.setPermission', { permission: { name: 'persistent-storage' }, setting: 'granted', origin });
  const after = await page.evaluate(async () => {
    const store = await window.storageTest.cairn.openStore({ name: 'persist-2', persist: true });
    const estimate = await store.estimate();
    const again = await store.persist();
    await store.close();
    return { estimate, again };
  });
  expect(after.estimate.persisted).toBe(true);
  expect(after.again).toBe(true);
});

test('Firefox ESR: persist() never settles headless, and resolves false within its timeout', async ({ firefoxHarness: page }) => {
  await waitForTitle(page, ['ready']);
  const r = await page.evaluate(async () => {
    const { cairn } = window.storageTest;
    const started = performance.now();
    const store = await cairn.openStore({ name: 'ff-persist', persist: true });
    const openMs = performance.now() - started;
    const t = performance.now();
    const granted = await store.persist();
    const persistMs = performance.now() - t;
    const estimate = await store.estimate();
    await store.close();
    return { openMs, granted, persistMs, estimate, timeout: cairn.PERSIST_TIMEOUT };
  });
  expect(r.granted).toBe(false);
  expect(r.persistMs).toBeLessThan(r.timeout + 1000);
  expect(r.openMs).toBeLessThan(r.timeout + 5000);
  expect(r.estimate.persisted).toBe(false);
  expect(typeof r.estimate.usage).toBe('number');
});

