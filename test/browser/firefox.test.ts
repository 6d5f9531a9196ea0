import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import type { Browser, Page } from 'puppeteer-core';
import { defineContract } from '../contract/contract.ts';
import { makeProfile, removeProfile } from './chromium.ts';
import { launchFirefox, openHarness, waitReady } from './firefox.ts';

const baseUrl = inject('baseUrl');
const profile = makeProfile();
let firefox: Browser;
let page: Page;

beforeAll(async () => {
  firefox = await launchFirefox(profile);
  page = await openHarness(firefox, baseUrl);
});
afterAll(async () => {
  await firefox?.close();
  removeProfile(profile);
});

describe('contract: Firefox ESR, dedicated worker on OPFS', () => {
  defineContract(
    (name) => page.evaluate((n) => window.cairnTest.runScenario(n, 'opfs', 'ff') as never, name),
    { storage: 'opfs' },
  );
});

describe('Firefox persistence', () => {
  it('keeps events across a reload with the store left open (the worker is let go on pagehide)', async () => {
    const first = await page.evaluate(async () => {
      const store = await window.cairnTest.cairn.openStore({ name: 'ff-persist', storage: 'opfs' });
      return (await store.append('note-1', [{ type: 'Written', data: { text: 'hello' } }])).position;
    });
    await page.reload();
    await waitReady(page);
    const events = await page.evaluate(async () => {
      const store = await window.cairnTest.cairn.openStore({ name: 'ff-persist', storage: 'opfs' });
      const events = await store.readStream('note-1');
      await store.close();
      return { storage: store.storage, data: events.map((e) => e.data) };
    });
    expect(first).toBe(1);
    expect(events).toEqual({ storage: 'opfs', data: [{ text: 'hello' }] });
  });
});
