/**
 * Browsers that run the bench page: Chromium through playwright-core (the test suite's own
 * launcher, on a persistent profile) and Firefox ESR through puppeteer-core over WebDriver
 * BiDi. Both hand jobs to `window.cairnBench` and return their results.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import puppeteer from 'puppeteer-core';
import type { Job, JobResult, JobStatus } from './jobs.ts';
import { launchChromium } from '../test/support/chromium.ts';
import { makeProfile } from '../test/support/profiles.ts';
import { FIREFOX_PATH } from '../test/support/browsers.ts';

/** A browser with the bench page open. */
export interface BenchBrowser {
  /** 'Chromium 156.0.…' or 'Firefox 153.…'. */
  readonly version: string;
  readonly cores: number;
  run<J extends Job>(job: J): Promise<JobResult<J>>;
  close(): Promise<void>;
}

/** Opens the bench page in headless Chromium on a fresh persistent profile. */
export async function openChromium(url: string): Promise<BenchBrowser> {
  const profile = makeProfile();
  const chrome = await launchChromium(profile);
  try {
    const page = await chrome.openPage(url);
    const info = await page.evaluate(() => window.cairnBench.info());
    return {
      version: `Chromium ${chrome.browser.version()}`,
      cores: info.hardwareConcurrency,
      async run(job) {
        // CDP has no call timeout: await the job's promise directly.
        return (await page.evaluate((j) => window.cairnBench.run(j), job as Job)) as JobResult<typeof job>;
      },
      async close() {
        await chrome.close();
        removeDir(profile);
      },
    };
  } catch (e) {
    await chrome.close();
    removeDir(profile);
    throw e;
  }
}

/** Opens the bench page in headless Firefox ESR on a fresh profile directory. */
export async function openFirefox(url: string): Promise<BenchBrowser> {
  const profile = mkdtempSync(join(tmpdir(), 'cairn-bench-firefox-'));
  const browser = await puppeteer.launch({
    browser: 'firefox',
    executablePath: FIREFOX_PATH,
    headless: true,
    userDataDir: profile,
  });
  const cleanup = async (): Promise<void> => {
    await browser.close().catch(() => {});
    removeDir(profile);
  };
  try {
    const page = await browser.newPage();
    page.on('pageerror', (e) => console.error('[firefox page error]', e));
    await page.goto(url);
    // page.waitForFunction times out over BiDi (FINDINGS.md): poll from Node instead.
    await pollUntil(() => page.evaluate(() => document.title === 'ready'), 30_000);
    const info = await page.evaluate(() => window.cairnBench.info());
    const version = (await browser.version()).replace(/^firefox\//i, 'Firefox ');
    return {
      version,
      cores: info.hardwareConcurrency,
      async run(job) {
        // A long evaluate would hit the BiDi call timeout: start the job, then poll it.
        const id = await page.evaluate((j) => window.cairnBench.start(j), job as Job);
        let status: JobStatus = { done: false };
        // Start polling fast (short jobs), back off to 1 s so polling barely disturbs the page.
        for (let wait = 20; !status.done; wait = Math.min(1000, wait * 2)) {
          await sleep(wait);
          status = await page.evaluate((i) => window.cairnBench.poll(i), id);
        }
        if (!status.ok) throw new Error(`Firefox job ${job.kind} failed: ${status.error}`);
        return status.result as JobResult<typeof job>;
      },
      close: cleanup,
    };
  } catch (e) {
    await cleanup();
    throw e;
  }
}

/** Removes a profile; retried, because a browser's helper processes may still write to it for a moment after it exits. */
function removeDir(dir: string): void {
  rmSync(dir, { recursive: true, force: true, maxRetries: 10, retryDelay: 100 });
}

function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

async function pollUntil(check: () => Promise<boolean>, timeoutMs: number): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await check().catch(() => false))) {
    if (Date.now() > deadline) throw new Error('The bench page did not get ready');
    await sleep(100);
  }
}
