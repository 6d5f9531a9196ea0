/**
 * Starts the system Chromium ourselves (so a test can SIGKILL it with all its helpers) on a
 * profile folder that outlives it (`profiles.ts`), and drives it with playwright-core over
 * CDP. Used by the crash tests, the bench, and `test/storage/chromium-by-hand.ts`.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { chromium, type Browser, type BrowserContext, type Page } from 'playwright-core';
import { CHROMIUM_ARGS, CHROMIUM_PATH } from './browsers.ts';

/** A running Chromium on a persistent profile. */
export interface RunningChromium {
  browser: Browser;
  context: BrowserContext;
  process: ChildProcess;
  profile: string;
  /** Opens a harness page and waits until it is ready. */
  openPage(url: string): Promise<Page>;
  /** Kills the browser process at once, as a crash would. */
  kill(): Promise<void>;
  /** Closes the browser normally. */
  close(): Promise<void>;
}

/** Starts Chromium on `profile`. */
export async function launchChromium(profile: string): Promise<RunningChromium> {
  const child = spawn(
    CHROMIUM_PATH,
    ['--headless=new', ...CHROMIUM_ARGS, `--user-data-dir=${profile}`, '--remote-debugging-port=0', 'about:blank'],
    // Its own process group, so a kill takes the renderers and helpers along with it.
    { stdio: ['ignore', 'ignore', 'pipe'], detached: true },
  );
  const wsEndpoint = await new Promise<string>((resolve, reject) => {
    let stderr = '';
    const timer = setTimeout(() => reject(new Error(`Chromium did not start:\n${stderr}`)), 30_000);
    child.stderr!.on('data', (chunk: Buffer) => {
      stderr += chunk.toString();
      const match = /DevTools listening on (ws:\/\/\S+)/.exec(stderr);
      if (match) {
        clearTimeout(timer);
        resolve(match[1]!);
      }
    });
    child.once('exit', (code) => {
      clearTimeout(timer);
      reject(new Error(`Chromium exited with ${code}:\n${stderr}`));
    });
  });
  child.stderr!.resume();
  const browser = await chromium.connectOverCDP(wsEndpoint);
  const context = browser.contexts()[0]!;
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  return {
    browser,
    context,
    process: child,
    profile,
    async openPage(url) {
      const page = await context.newPage();
      page.on('pageerror', (e) => console.error('[page error]', e.message));
      await page.goto(url);
      await page.waitForFunction(() => document.title === 'ready');
      return page;
    },
    async kill() {
      killGroup(child, 'SIGKILL');
      await exited;
    },
    async close() {
      await browser.close().catch(() => {});
      if (child.exitCode === null) child.kill('SIGTERM');
      await exited;
      killGroup(child, 'SIGKILL');
    },
  };
}

/** Signals the browser's whole process group; it may already be gone. */
function killGroup(child: ChildProcess, signal: NodeJS.Signals): void {
  try {
    process.kill(-child.pid!, signal);
  } catch {
    // No such process group: everything has exited.
  }
}
