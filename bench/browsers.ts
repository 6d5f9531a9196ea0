/**
 * Browsers that run the bench page: Chromium through playwright-core (the test suite's own
 * launcher, on a persistent profile) and Firefox ESR through puppeteer-core over WebDriver
 * BiDi. Both hand jobs to `window.cairnBench` and return their results.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { CDPSession, Page } from 'playwright-core';
import puppeteer, { type Page as PuppeteerPage } from 'puppeteer-core';
import type { Job, JobResult, JobStatus } from './jobs.ts';
import { launchChromium } from '../test/support/chromium.ts';
import { makeProfile } from '../test/support/profiles.ts';
import { FIREFOX_PATH } from '../test/support/browsers.ts';

/** One tab with the bench page open. */
export interface BenchTab {
  run<J extends Job>(job: J): Promise<JobResult<J>>;
  close(): Promise<void>;
  /**
   * Chromium only: the heaps of this tab's page and of the dedicated worker named
   * `workerName`, each after `HeapProfiler.collectGarbage`, over the DevTools protocol.
   */
  heaps?(workerName: string): Promise<{ page: HeapUsage; worker: HeapUsage }>;
}

/** JS heap sizes in bytes, after a forced garbage collection (CDP `Runtime.getHeapUsage`). */
export interface HeapUsage {
  usedSize: number;
  totalSize: number;
}

/** A browser with the bench page open in a first tab. */
export interface BenchBrowser extends BenchTab {
  /** 'Chromium 156.0.…' or 'Firefox 153.…'. */
  readonly version: string;
  readonly cores: number;
  /** Opens another tab on the bench page (same origin, so it shares the stores). */
  openTab(): Promise<BenchTab>;
}

/** Opens the bench page in headless Chromium on a fresh persistent profile. */
export async function openChromium(url: string): Promise<BenchBrowser> {
  const profile = makeProfile();
  const chrome = await launchChromium(profile);
  try {
    const page = await chrome.openPage(url);
    const info = await page.evaluate(() => window.cairnBench.info());
    const heapsOf = (tab: Page) => async (workerName: string): Promise<{ page: HeapUsage; worker: HeapUsage }> => {
      const pageCdp = await chrome.context.newCDPSession(tab);
      const browserCdp = await chrome.browser.newBrowserCDPSession();
      try {
        const { targetInfos } = await browserCdp.send('Target.getTargets');
        const target = targetInfos.find((t) => t.type === 'worker' && t.title === workerName);
        if (target === undefined) {
          throw new Error(`No worker named ${workerName}: ${targetInfos.map((t) => `${t.type} ${t.title}`).join(', ')}`);
        }
        const worker = await workerSession(browserCdp, target.targetId);
        try {
          await worker.send('HeapProfiler.collectGarbage');
          const workerHeap = (await worker.send('Runtime.getHeapUsage')) as HeapUsage;
          await pageCdp.send('HeapProfiler.collectGarbage');
          const pageHeap = await pageCdp.send('Runtime.getHeapUsage');
          return {
            page: { usedSize: pageHeap.usedSize, totalSize: pageHeap.totalSize },
            worker: { usedSize: workerHeap.usedSize, totalSize: workerHeap.totalSize },
          };
        } finally {
          await worker.detach();
        }
      } finally {
        await pageCdp.detach().catch(() => {});
        await browserCdp.detach().catch(() => {});
      }
    };
    // CDP has no call timeout: await the job's promise directly.
    const runIn = (p: Page) => async <J extends Job>(job: J): Promise<JobResult<J>> =>
      (await p.evaluate((j) => window.cairnBench.run(j), job as Job)) as JobResult<J>;
    return {
      version: `Chromium ${chrome.browser.version()}`,
      cores: info.hardwareConcurrency,
      run: runIn(page),
      async openTab() {
        const tab = await chrome.openPage(url);
        return { run: runIn(tab), close: () => tab.close(), heaps: heapsOf(tab) };
      },
      heaps: heapsOf(page),
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
    const openTab = async (): Promise<PuppeteerPage> => {
      const page = await browser.newPage();
      page.on('pageerror', (e) => console.error('[firefox page error]', e));
      await page.goto(url);
      // page.waitForFunction times out over BiDi (FINDINGS.md): poll from Node instead.
      await pollUntil(() => page.evaluate(() => document.title === 'ready'), 30_000);
      return page;
    };
    const page = await openTab();
    const info = await page.evaluate(() => window.cairnBench.info());
    const version = (await browser.version()).replace(/^firefox\//i, 'Firefox ');
    return {
      version,
      cores: info.hardwareConcurrency,
      run: pollingRunner(page),
      async openTab() {
        const tab = await openTab();
        return { run: pollingRunner(tab), close: () => tab.close() };
      },
      close: cleanup,
    };
  } catch (e) {
    await cleanup();
    throw e;
  }
}

/** Runs jobs in a Firefox tab: a long evaluate would hit the BiDi call timeout, so each job is started, then polled. */
function pollingRunner(page: PuppeteerPage) {
  return async <J extends Job>(job: J): Promise<JobResult<J>> => {
    const id = await page.evaluate((j) => window.cairnBench.start(j), job as Job);
    let status: JobStatus = { done: false };
    // Start polling fast (short jobs), back off to 1 s so polling barely disturbs the page.
    for (let wait = 20; !status.done; wait = Math.min(1000, wait * 2)) {
      await sleep(wait);
      status = await page.evaluate((i) => window.cairnBench.poll(i), id);
    }
    if (!status.ok) throw new Error(`Firefox job ${job.kind} failed: ${status.error}`);
    return status.result as JobResult<J>;
  };
}

/**
 * A DevTools session on a dedicated worker, through the browser's session: attached
 * without flattening, so its messages travel in `Target.sendMessageToTarget` and come back in
 * `Target.receivedMessageFromTarget`.
 */
async function workerSession(browserCdp: CDPSession, targetId: string) {
  const { sessionId } = await browserCdp.send('Target.attachToTarget', { targetId, flatten: false });
  let nextId = 1;
  const waiting = new Map<number, { resolve: (v: unknown) => void; reject: (e: Error) => void }>();
  const onMessage = (event: { sessionId: string; message: string }): void => {
    if (event.sessionId !== sessionId) return;
    const reply = JSON.parse(event.message) as { id?: number; result?: unknown; error?: { message: string } };
    const w = reply.id === undefined ? undefined : waiting.get(reply.id);
    if (w === undefined) return;
    waiting.delete(reply.id!);
    if (reply.error !== undefined) w.reject(new Error(reply.error.message));
    else w.resolve(reply.result);
  };
  browserCdp.on('Target.receivedMessageFromTarget', onMessage);
  return {
    send(method: string, params: Record<string, unknown> = {}): Promise<unknown> {
      const id = nextId++;
      const reply = new Promise<unknown>((resolve, reject) => waiting.set(id, { resolve, reject }));
      void browserCdp.send('Target.sendMessageToTarget', { sessionId, message: JSON.stringify({ id, method, params }) });
      return reply;
    },
    async detach(): Promise<void> {
      browserCdp.off('Target.receivedMessageFromTarget', onMessage);
      await browserCdp.send('Target.detachFromTarget', { sessionId }).catch(() => {});
    },
  };
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
