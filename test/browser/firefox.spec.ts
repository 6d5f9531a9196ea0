/** Firefox ESR (puppeteer-core over WebDriver BiDi): the core contract suite on OPFS, and persistence across a reload. */
import type { Page as FirefoxPage } from 'puppeteer-core';
import { defineContract, type DefineTest } from '../contract/contract.ts';
import { expect, test, waitForTitle } from '../fixtures.ts';

test.describe.configure({ timeout: 120_000 });

/** The Firefox harness page of the contract test running now. */
let page: FirefoxPage;
/** Each contract test, on a Firefox harness page of its own. */
const onHarness: DefineTest = (name, body) =>
  test(name, async ({ firefoxPage }) => {
    page = firefoxPage;
    await body();
  });

test.describe('contract: Firefox ESR, dedicated worker on OPFS', () => {
  defineContract(
    (name) => page.evaluate((n) => window.cairnTest.runScenario(n, 'opfs', 'ff') as never, name),
    { storage: 'opfs' },
    onHarness,
  );
});

test.describe('Firefox persistence', () => {
  test('keeps events across a reload with the store left open (the worker is let go on pagehide)', async ({ firefoxPage: page }) => {
    const first = await page.evaluate(async () => {
      const store = await window.cairnTest.cairn.openStore({ name: 'ff-persist', storage: 'opfs' });
      return (await store.append('note-1', [{ type: 'Written', data: { text: 'hello' } }])).position;
    });
    await page.reload();
    await waitForTitle(page, ['ready']);
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
