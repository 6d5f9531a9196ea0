/**
 * Playwright Test fixtures shared by the browser suites:
 * - `appUrl` (worker-scoped): the harness app of `test/browser/app/`, built once and served
 *   from 127.0.0.1 for the whole run (`test/storage/fixtures.ts` serves its own the same way);
 * - `profile`: a fresh profile folder, removed after the test;
 * - `persistent`: the system Chromium on `profile` (OPFS is far faster, and closer to a real
 *   browser, in a persistent profile than in an ephemeral context), with `newPage()` for as
 *   many tabs as a test wants;
 * - `openPage()`: a new tab of `persistent` on the harness app, once the app is ready; call it
 *   for as many tabs as a test wants. `harness` is the first such tab;
 * - `spawnChromium()`: Chromium started by hand on `profile` (`support/chromium.ts`), for a
 *   test that SIGKILLs the browser and starts it again on the same profile;
 * - `firefox`: Firefox ESR under puppeteer-core (WebDriver BiDi), on a fresh profile, and
 *   `firefoxPage`, a Firefox page on the harness app, ready. Over BiDi
 *   `page.waitForFunction` times out, so `waitForTitle` polls instead.
 * A test uses either `persistent` or `spawnChromium`: both run on `profile`.
 */
import { fileURLToPath } from 'node:url';
import { test as base, chromium, type BrowserContext, type Page } from '@playwright/test';
import puppeteer, { type Browser as FirefoxBrowser, type Page as FirefoxPage } from 'puppeteer-core';
import { CHROMIUM_ARGS, CHROMIUM_PATH, FIREFOX_PATH } from './support/browsers.ts';
import { launchChromium, type RunningChromium } from './support/chromium.ts';
import { makeProfile, removeProfile } from './support/profiles.ts';
import { serveApp } from './support/serve-app.ts';

export { makeProfile, removeProfile } from './support/profiles.ts';

/** Launches the system Chromium on a persistent profile. */
export function launchPersistent(profile: string): Promise<BrowserContext> {
  return chromium.launchPersistentContext(profile, { executablePath: CHROMIUM_PATH, args: CHROMIUM_ARGS, headless: true });
}

/** Launches Firefox ESR on a profile folder. */
export function launchFirefox(profile: string): Promise<FirefoxBrowser> {
  return puppeteer.launch({ browser: 'firefox', executablePath: FIREFOX_PATH, headless: true, userDataDir: profile });
}

/** Polls a Firefox page until its title is one of `titles`; returns the title. */
export async function waitForTitle(page: FirefoxPage, titles: readonly string[], timeout = 30_000): Promise<string> {
  const deadline = Date.now() + timeout;
  for (;;) {
    const title = await page.evaluate(() => document.title).catch(() => '');
    if (titles.includes(title)) return title;
    if (Date.now() > deadline) throw new Error(`The page's title stayed "${title}", not one of ${titles.join(', ')}`);
    await new Promise((r) => setTimeout(r, 100));
  }
}

/** Opens `url` in a new tab of `context` and waits until the harness page there is ready. */
export async function openReadyPage(context: BrowserContext, url: string): Promise<Page> {
  const page = await context.newPage();
  page.on('pageerror', (e) => console.error('[page error]', e.message));
  await page.goto(url);
  await page.waitForFunction(() => document.title === 'ready');
  return page;
}

interface WorkerFixtures {
  appUrl: string;
}

interface Fixtures {
  profile: string;
  persistent: BrowserContext;
  openPage: () => Promise<Page>;
  harness: Page;
  spawnChromium: () => Promise<RunningChromium>;
  firefox: FirefoxBrowser;
  firefoxPage: FirefoxPage;
}

/**
 * What a browser takes to start, as Vitest's hook timeout gave it before: a fixture with a
 * timeout of its own does not eat into the test's.
 */
const LAUNCH_TIMEOUT = 120_000;

/** The test function with Cairn's fixtures. */
export const test = base.extend<Fixtures, WorkerFixtures>({
  appUrl: [
    async ({}, use) => serveApp(fileURLToPath(new URL('./browser/app/vite.config.ts', import.meta.url)), use),
    { scope: 'worker', timeout: 120_000 },
  ],
  profile: async ({}, use) => {
    const profile = makeProfile();
    await use(profile);
    removeProfile(profile);
  },
  persistent: [
    async ({ profile }, use) => {
      const context = await launchPersistent(profile);
      await use(context);
      await context.close();
    },
    { timeout: LAUNCH_TIMEOUT },
  ],
  openPage: async ({ persistent, appUrl }, use) => {
    await use(() => openReadyPage(persistent, appUrl));
  },
  harness: [
    async ({ openPage }, use) => {
      await use(await openPage());
    },
    { timeout: LAUNCH_TIMEOUT },
  ],
  spawnChromium: async ({ profile }, use) => {
    const started: RunningChromium[] = [];
    await use(async () => {
      const chrome = await launchChromium(profile);
      started.push(chrome);
      return chrome;
    });
    // Killed ones have exited already; closing them again is a no-op.
    for (const chrome of started) await chrome.close();
  },
  firefox: [
    async ({}, use) => {
      const profile = makeProfile('cairn-firefox-');
      const browser = await launchFirefox(profile);
      await use(browser);
      await browser.close();
      removeProfile(profile);
    },
    { timeout: LAUNCH_TIMEOUT },
  ],
  firefoxPage: [
    async ({ firefox, appUrl }, use) => {
      const page = await firefox.newPage();
      await page.goto(appUrl);
      await waitForTitle(page, ['ready']);
      await use(page);
    },
    { timeout: LAUNCH_TIMEOUT },
  ],
});

export { expect } from '@playwright/test';
