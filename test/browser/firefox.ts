/**
 * Firefox ESR under puppeteer-core (WebDriver BiDi). Over BiDi `page.waitForFunction` times
 * out, so readiness is polled.
 */
import puppeteer, { type Browser, type Page } from 'puppeteer-core';
import { FIREFOX_PATH } from '../support/browsers.ts';


/** Starts headless Firefox on `profile` (a directory that may outlive it). */
export function launchFirefox(profile: string): Promise<Browser> {
  return puppeteer.launch({ browser: 'firefox', executablePath: FIREFOX_PATH, headless: true, userDataDir: profile });
}

/** Opens the harness page and waits until it is ready. */
export async function openHarness(browser: Browser, url: string): Promise<Page> {
  const page = await browser.newPage();
  await page.goto(url);
  await waitReady(page);
  return page;
}

/** Polls until the harness page says it is ready. */
export async function waitReady(page: Page): Promise<void> {
  const deadline = Date.now() + 30_000;
  while ((await page.evaluate(() => document.title).catch(() => '')) !== 'ready') {
    if (Date.now() > deadline) throw new Error('The harness page did not become ready in Firefox');
    await new Promise((r) => setTimeout(r, 100));
  }
}
