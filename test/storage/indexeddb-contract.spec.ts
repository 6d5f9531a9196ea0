/**
 * The contract suites (core and live, `test/contract/`) on `storage: 'indexeddb'`, through
 * the real worker, in Chromium and in Firefox ESR: SQLite in memory in the leader's worker,
 * every commit written to IndexedDB before it is acknowledged. The definers take Playwright
 * Test's `test` in place of Vitest's `it`; they assert exactly what they assert elsewhere.
 */
import type { BrowserContext, Page } from '@playwright/test';
import type { Browser as FirefoxBrowser, Page as FirefoxPage } from 'puppeteer-core';
import { defineContract } from '../contract/contract.ts';
import { defineLiveContract } from '../contract/live-contract.ts';
import { launchFirefox, launchPersistent, makeProfile, removeProfile, waitForTitle } from '../fixtures.ts';
import { openHarness, test } from './fixtures.ts';

test.describe('contract on IndexedDB: Chromium', () => {
  test.describe.configure({ mode: 'serial' });
  let profile: string;
  let context: BrowserContext;
  let page: Page;
  test.beforeAll(async ({ harnessUrl }) => {
    profile = makeProfile();
    context = await launchPersistent(profile);
    page = await context.newPage();
    await openHarness(page, harnessUrl);
  });
  test.afterAll(async () => {
    await context?.close();
    removeProfile(profile);
  });
  defineContract(
    (name) => page.evaluate(([n]) => window.storageTest.runScenario(n, 'indexeddb', 'idb') as never, [name] as const),
    { storage: 'indexeddb' },
    (name, body) => test(name, body),
  );
  defineLiveContract(
    (name) => page.evaluate(([n]) => window.storageTest.runLiveScenario(n, 'indexeddb', 'idb-live') as never, [name] as const),
    (name, body) => test(name, body),
  );
});

test.describe('contract on IndexedDB: Firefox ESR', () => {
  test.describe.configure({ mode: 'serial' });
  let profile: string;
  let firefox: FirefoxBrowser;
  let page: FirefoxPage;
  test.beforeAll(async ({ harnessUrl }) => {
    profile = makeProfile('cairn-firefox-');
    firefox = await launchFirefox(profile);
    page = await firefox.newPage();
    await page.goto(harnessUrl);
    await waitForTitle(page, ['ready']);
  });
  test.afterAll(async () => {
    await firefox?.close();
    removeProfile(profile);
  });
  defineContract(
    (name) => page.evaluate((n) => window.storageTest.runScenario(n, 'indexeddb', 'ff-idb') as never, name),
    { storage: 'indexeddb' },
    (name, body) => test(name, body),
  );
  defineLiveContract(
    (name) => page.evaluate((n) => window.storageTest.runLiveScenario(n, 'indexeddb', 'ff-idb-live') as never, name),
    (name, body) => test(name, body),
  );
});
