/**
 * Playwright Test fixtures shared by the browser suites:
 * - `persistent`: the system Chromium on a fresh profile folder of its own (OPFS is far
 *   faster, and closer to a real browser, in a persistent profile than in an ephemeral
 *   context), with `newPage()` for as many tabs as a test wants;
 * - `firefox`: Firefox ESR under puppeteer-core (WebDriver BiDi), on a fresh profile. Over
 *   BiDi `page.waitForFunction` times out, so `waitForTitle` polls instead.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test as base, chromium, type BrowserContext } from '@playwright/test';
import puppeteer, { type Browser as FirefoxBrowser, type Page as FirefoxPage } from 'puppeteer-core';
import { CHROMIUM_ARGS, CHROMIUM_PATH, FIREFOX_PATH } from './support/browsers.ts';

/** A fresh profile folder. */
export function makeProfile(prefix = 'cairn-profile-'): string {
  return mkdtempSync(join(tmpdir(), prefix));
}

/** Removes a profile folder; a browser helper may still hold it for a moment after exit. */
export function removeProfile(profile: string): void {
  try {
    rmSync(profile, { recursive: true, force: true, maxRetries: 20, retryDelay: 100 });
  } catch (e) {
    console.warn(`Could not remove the profile ${profile}: ${String(e)}`);
  }
}

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

interface Fixtures {
  persistent: BrowserContext;
  firefox: FirefoxBrowser;
}

/** The test function with Cairn's fixtures. */
export const test = base.extend<Fixtures>({
  persistent: async ({}, use) => {
    const profile = makeProfile();
    const context = await launchPersistent(profile);
    await use(context);
    await context.close();
    removeProfile(profile);
  },
  firefox: async ({}, use) => {
    const profile = makeProfile('cairn-firefox-');
    const browser = await launchFirefox(profile);
    await use(browser);
    await browser.close();
    removeProfile(profile);
  },
});

export { expect } from '@playwright/test';
