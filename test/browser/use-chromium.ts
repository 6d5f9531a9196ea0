/** The usual set-up of a browser test file: Chromium on a fresh profile, and a harness page unless asked not to. */
import { afterAll, beforeAll, inject } from 'vitest';
import type { Page } from 'playwright-core';
import { launchChromium, makeProfile, removeProfile, type RunningChromium } from './chromium.ts';

/** What `useChromium` sets up, available once the suite's `beforeAll` has run. */
export interface ChromiumFixture {
  readonly chrome: RunningChromium;
  readonly page: Page;
  readonly baseUrl: string;
  /** Opens another harness page (a new tab) and waits until it is ready. */
  openPage(): Promise<Page>;
}

/** Registers hooks that start Chromium (with a harness page, unless `page: false`) before the suite, and clean up after it. */
export function useChromium(options: { page?: boolean } = {}): ChromiumFixture {
  const baseUrl = inject('baseUrl');
  const profile = makeProfile();
  let chrome: RunningChromium | undefined;
  let page: Page | undefined;
  beforeAll(async () => {
    chrome = await launchChromium(profile);
    if (options.page !== false) page = await chrome.openPage(baseUrl);
  });
  afterAll(async () => {
    await chrome?.close();
    removeProfile(profile);
  });
  const fixture: ChromiumFixture = {
    baseUrl,
    openPage: () => fixture.chrome.openPage(baseUrl),
    get chrome() {
      if (chrome === undefined) throw new Error('Chromium is not started yet');
      return chrome;
    },
    get page() {
      if (page === undefined) throw new Error('The harness page is not open yet');
      return page;
    },
  };
  return fixture;
}
