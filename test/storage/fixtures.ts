/**
 * Fixtures of the storage specs, on top of `test/fixtures.ts`:
 * - `harnessUrl` (worker-scoped): the storage harness page (`test/storage/app/`), built once
 *   and served from 127.0.0.1 for the whole run (`support/serve-app.ts`, as `appUrl` is);
 * - `openHarness(page)`: goes to the harness and waits until it is ready (Chromium);
 * - `firefoxHarness`: a Firefox ESR page on the harness, ready (polled: BiDi has no waitForFunction).
 */
import { fileURLToPath } from 'node:url';
import type { Page } from '@playwright/test';
import type { Page as FirefoxPage } from 'puppeteer-core';
import { test as base, waitForTitle } from '../fixtures.ts';
import { serveApp } from '../support/serve-app.ts';

interface WorkerFixtures {
  harnessUrl: string;
}

interface TestFixtures {
  firefoxHarness: FirefoxPage;
}

/** Goes to the harness page and waits until it is ready. */
export async function openHarness(page: Page, url: string): Promise<void> {
  page.on('pageerror', (e) => console.error('[page error]', e.message));
  await page.goto(url);
  await page.waitForFunction(() => document.title === 'ready');
}

/** The test function with the storage fixtures. */
export const test = base.extend<TestFixtures, WorkerFixtures>({
  harnessUrl: [
    async ({}, use) => serveApp(fileURLToPath(new URL('./app/vite.config.ts', import.meta.url)), use),
    { scope: 'worker', timeout: 120_000 },
  ],
  firefoxHarness: async ({ firefox, harnessUrl }, use) => {
    const page = await firefox.newPage();
    await page.goto(harnessUrl);
    await waitForTitle(page, ['ready']);
    await use(page);
  },
});

export { expect } from '../fixtures.ts';
