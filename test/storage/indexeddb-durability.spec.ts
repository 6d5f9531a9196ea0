/**
 * What IndexedDB mode keeps: across a reload with the store left open, a browser restart,
 * and the browser killed with SIGKILL in the middle of an append loop (every acknowledged
 * batch there, no part of any other), in Chromium; reload and restart in Firefox ESR too.
 */
import type { Page } from 'playwright-core';
import { launchChromium, type RunningChromium } from '../support/chromium.ts';
import { launchFirefox, makeProfile, removeProfile, waitForTitle } from '../fixtures.ts';
import { expect, test } from './fixtures.ts';

test.describe.configure({ mode: 'serial' });

const appendOne = (page: Page, store: string, stream: string) =>
  page.evaluate(
    async ([name, s]) => {
      const store = await window.storageTest.cairn.openStore({ name: name!, storage: 'indexeddb' });
      return (await store.append(s!, [{ type: 'Saved', data: { s } }])).position;
      // No close: the page goes away with the worker holding the store.
    },
    [store, stream],
  );
const readAll = (page: Page, store: string) =>
  page.evaluate(async (name) => {
    const store = await window.storageTest.cairn.openStore({ name, storage: 'indexeddb' });
    const events = (await store.read({}, { first: 1000 })).edges.map((e) => [e.node.position, e.node.stream]);
    await store.close();
    return { storage: store.storage, events };
  }, store);

test('Chromium: IndexedDB keeps events across a reload with the store open, and a browser restart', async ({ harnessUrl }) => {
  const profile = makeProfile();
  let chrome: RunningChromium = await launchChromium(profile);
  try {
    const page = await chrome.openPage(harnessUrl);
    expect(await appendOne(page, 'keep', 'doc-1')).toBe(1);
    await page.reload();
    await page.waitForFunction(() => document.title === 'ready');
    expect(await appendOne(page, 'keep', 'doc-2')).toBe(2);
    await chrome.close();
    chrome = await launchChromium(profile);
    const again = await chrome.openPage(harnessUrl);
    expect(await readAll(again, 'keep')).toEqual({ storage: 'indexeddb', events: [[1, 'doc-1'], [2, 'doc-2']] });
  } finally {
    await chrome.close();
    removeProfile(profile);
  }
});

test('Chromium: SIGKILL in the middle of appends keeps every acknowledged batch and no part of another', async ({ harnessUrl }) => {
  const profile = makeProfile();
  let chrome: RunningChromium = await launchChromium(profile);
  try {
    const page = await chrome.openPage(harnessUrl);
    const acked: number[] = [];
    await page.exposeFunction('ackBatch', (batch: number) => void acked.push(batch));
    void page
      .evaluate(() => window.storageTest.appendLoop('crashy', 'indexeddb', (b) => (window as unknown as { ackBatch(b: number): void }).ackBatch(b)))
      .catch(() => {});
    while (acked.length < 150) await new Promise((r) => setTimeout(r, 20));
    await chrome.kill();
    const acknowledged = [...acked];
    chrome = await launchChromium(profile);
    const after = await chrome.openPage(harnessUrl);
    const { storage, events } = await after.evaluate(() => window.storageTest.dump('crashy', 'indexeddb'));
    expect(storage).toBe('indexeddb');
    const perBatch = new Map<number, number[]>();
    for (const [batch, i] of events) perBatch.set(batch, [...(perBatch.get(batch) ?? []), i]);
    for (const batch of acknowledged) expect(perBatch.has(batch), `batch ${batch}`).toBe(true);
    for (const [batch, items] of perBatch) expect(items, `batch ${batch}`).toEqual([0, 1, 2, 3, 4]);
    const batches = [...perBatch.keys()];
    expect(batches).toEqual(batches.map((_, i) => i));
    console.log(`acknowledged ${acknowledged.length} batches before the kill; ${batches.length} batches after reopening`);
  } finally {
    await chrome.close();
    removeProfile(profile);
  }
});

test('Firefox ESR: IndexedDB keeps events across a reload with the store open, and a browser restart', async ({ harnessUrl }) => {
  const profile = makeProfile('cairn-firefox-');
  let firefox = await launchFirefox(profile);
  try {
    let page = await firefox.newPage();
    await page.goto(harnessUrl);
    await waitForTitle(page, ['ready']);
    const append = (stream: string) =>
      page.evaluate(async (s) => {
        const store = await window.storageTest.cairn.openStore({ name: 'ff-keep', storage: 'indexeddb' });
        return (await store.append(s, [{ type: 'Saved' }])).position;
      }, stream);
    expect(await append('note-1')).toBe(1);
    await page.reload();
    await waitForTitle(page, ['ready']);
    expect(await append('note-2')).toBe(2);
    await firefox.close();
    firefox = await launchFirefox(profile);
    page = await firefox.newPage();
    await page.goto(harnessUrl);
    await waitForTitle(page, ['ready']);
    const read = await page.evaluate(async () => {
      const store = await window.storageTest.cairn.openStore({ name: 'ff-keep', storage: 'indexeddb' });
      const events = (await store.read({}, { first: 10 })).edges.map((e) => e.node.stream);
      await store.close();
      return { storage: store.storage, events };
    });
    expect(read).toEqual({ storage: 'indexeddb', events: ['note-1', 'note-2'] });
  } finally {
    await firefox.close();
    removeProfile(profile);
  }
});
