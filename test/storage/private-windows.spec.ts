/**
 * What `'auto'` gets where OPFS cannot be had, played by workers of the storage harness:
 * OPFS's API missing (Safari private windows), OPFS refusing with SecurityError (Firefox
 * private windows), and OPFS and IndexedDB both refusing. In Chromium and Firefox ESR.
 */
import { expect, openHarness, test } from './fixtures.ts';
import { waitForTitle } from '../fixtures.ts';

test('Chromium: auto takes OPFS, else IndexedDB, else memory; a storage asked for by name is that or STORAGE_UNAVAILABLE', async ({ persistent, harnessUrl }) => {
  const page = await persistent.newPage();
  await openHarness(page, harnessUrl);
  const r = await page.evaluate(async () => {
    const { cairn, caught, openPrivate } = window.storageTest;
    const plain = await cairn.openStore({ name: 'plain', storage: 'auto' });
    await plain.close();
    return {
      plain: plain.storage,
      refusedAuto: await openPrivate('opfsRefused', 'auto', 'firefox-private'),
      refusedAgain: await openPrivate('opfsRefused', 'auto', 'firefox-private'),
      refusedOpfs: await caught(() => openPrivate('opfsRefused', 'opfs', 'firefox-private-opfs')),
      missingAuto: await openPrivate('noOpfs', 'auto', 'safari-private'),
      nothingAuto: await openPrivate('noStorage', 'auto', 'no-storage'),
      nothingAgain: await openPrivate('noStorage', 'auto', 'no-storage'),
      nothingIdb: await caught(() => openPrivate('noStorage', 'indexeddb', 'no-storage-idb')),
    };
  });
  expect(r.plain).toBe('opfs');
  // Firefox's private window: IndexedDB, which keeps the data for the session.
  expect(r.refusedAuto).toEqual({ storage: 'indexeddb', position: 1, head: 1 });
  expect(r.refusedAgain).toEqual({ storage: 'indexeddb', position: 2, head: 2 });
  expect(r.refusedOpfs).toMatchObject({ code: 'STORAGE_UNAVAILABLE', isOwnClass: true });
  expect(r.refusedOpfs?.message).toMatch(/SecurityError/);
  expect(r.missingAuto).toEqual({ storage: 'indexeddb', position: 1, head: 1 });
  // Nothing durable: memory, which starts empty each time.
  expect(r.nothingAuto).toEqual({ storage: 'memory', position: 1, head: 1 });
  expect(r.nothingAgain).toEqual({ storage: 'memory', position: 1, head: 1 });
  expect(r.nothingIdb).toMatchObject({ code: 'STORAGE_UNAVAILABLE' });
});

test('Firefox ESR: a private window that refuses OPFS gets IndexedDB; one with no OPFS API too', async ({ firefoxHarness: page }) => {
  await waitForTitle(page, ['ready']);
  const r = await page.evaluate(async () => {
    const { openPrivate } = window.storageTest;
    return {
      refused: await openPrivate('opfsRefused', 'auto', 'ff-private'),
      again: await openPrivate('opfsRefused', 'auto', 'ff-private'),
      missing: await openPrivate('noOpfs', 'auto', 'ff-no-opfs'),
      nothing: await openPrivate('noStorage', 'auto', 'ff-nothing'),
    };
  });
  expect(r).toEqual({
    refused: { storage: 'indexeddb', position: 1, head: 1 },
    again: { storage: 'indexeddb', position: 2, head: 2 },
    missing: { storage: 'indexeddb', position: 1, head: 1 },
    nothing: { storage: 'memory', position: 1, head: 1 },
  });
});
