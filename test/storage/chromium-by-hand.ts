/**
 * Chromium started by hand and attached with `connectOverCDP(…, { noDefaults: true })`: the
 * only way `Page.setWebLifecycleState` freezes a page here (a context Playwright launched
 * emulates focus, and the freeze is then a no-op; FINDINGS "Page Lifecycle under
 * Playwright"). The process and profile handling is `test/support/chromium.ts`'s.
 */
import { chromium, type Browser } from 'playwright-core';
import { launchChromium, type RunningChromium } from '../support/chromium.ts';

/** A Chromium of our own, and a second connection to it without Playwright's defaults. */
export interface BareChromium {
  chrome: RunningChromium;
  bare: Browser;
  close(): Promise<void>;
}

/** Starts Chromium on `profile` and attaches to it without Playwright's emulation defaults. */
export async function launchBareChromium(profile: string): Promise<BareChromium> {
  const chrome = await launchChromium(profile);
  // Playwright's first connection applies its defaults (focus emulation) to every page it
  // sees: let it go, so only the bare one is attached.
  await chrome.browser.close();
  const { webSocketDebuggerUrl } = (await (await fetch(`${await devtoolsUrl(chrome)}/json/version`)).json()) as { webSocketDebuggerUrl: string };
  const bare = await chromium.connectOverCDP(webSocketDebuggerUrl, { noDefaults: true });
  return {
    chrome,
    bare,
    async close() {
      await bare.close().catch(() => {});
      await chrome.close();
    },
  };
}

/** The HTTP address of the browser's DevTools endpoint (the port Chromium picked, from its profile). */
async function devtoolsUrl(chrome: RunningChromium): Promise<string> {
  const { readFileSync } = await import('node:fs');
  const port = readFileSync(`${chrome.profile}/DevToolsActivePort`, 'utf8').split('\n')[0]!.trim();
  return `http://127.0.0.1:${port}`;
}
