import { describe, expect, it } from 'vitest';
import { defineLiveContract } from '../contract/live-contract.ts';
import type { Page } from 'playwright-core';
import { useChromium } from './use-chromium.ts';

const browser = useChromium();

describe('live contract: Chromium, dedicated worker on OPFS', () => {
  defineLiveContract((name) =>
    browser.page.evaluate(([n]) => window.cairnTest.runLiveScenario(n, 'live') as never, [name] as const),
  );
});

/** Positions from..to. */
const range = (from: number, to: number) => Array.from({ length: to - from + 1 }, (_, i) => from + i);

async function waitUntil(p: Page, check: (r: { started: number[]; finished: number[] }) => boolean, name: string) {
  for (;;) {
    const r = await p.evaluate((n) => window.cairnTest.recorded(n), name);
    if (check(r)) return r;
    await new Promise((r) => setTimeout(r, 20));
  }
}

describe('durable consumers across page lifetimes (Chromium, OPFS)', () => {
  it('resumes from its checkpoint after a reload, repeating only the event whose handler had not finished', async () => {
    const name = `resume-${Date.now()}`;
    const p = await browser.chrome.openPage(browser.baseUrl);
    expect(await p.evaluate((n) => window.cairnTest.openAndAppend(n, 10), name)).toBe(10);
    await p.evaluate((n) => window.cairnTest.startRecordingConsumer(n, 'mailer', 6), name);
    await waitUntil(p, (r) => r.started.includes(6), name);
    await p.reload();
    await p.waitForFunction(() => document.title === 'ready');
    await p.evaluate((n) => window.cairnTest.openAndAppend(n, 2), name);
    await p.evaluate((n) => window.cairnTest.startRecordingConsumer(n, 'mailer'), name);
    const r = await waitUntil(p, (x) => x.finished.includes(12), name);
    expect(r.finished).toEqual(range(1, 12));
    // Event 6 was in hand when the page went away: it is the only one delivered twice.
    expect(r.started).toEqual([...range(1, 6), ...range(6, 12)]);
    await p.close();
  });

  it('moves to another tab when its tab closes, from the checkpoint', async () => {
    const name = `takeover-${Date.now()}`;
    const a = await browser.chrome.openPage(browser.baseUrl);
    await a.evaluate((n) => window.cairnTest.openAndAppend(n, 8), name);
    expect(await a.evaluate((n) => window.cairnTest.startRecordingConsumer(n, 'mailer', 4), name)).toBe('waiting');
    await waitUntil(a, (r) => r.started.includes(4), name);
    // Tab B opens the store as tab A closes (both tabs open at once: live-tabs.test.ts).
    const b = await browser.chrome.openPage(browser.baseUrl);
    const opened = b.evaluate((n) => window.cairnTest.openAndAppend(n, 1), name);
    await a.close({ runBeforeUnload: true });
    expect(await opened).toBe(9);
    await b.evaluate((n) => window.cairnTest.startRecordingConsumer(n, 'mailer'), name);
    const r = await waitUntil(b, (x) => x.finished.includes(9), name);
    expect(r.finished).toEqual(range(1, 9));
    expect(r.started).toEqual([...range(1, 4), ...range(4, 9)]);
    await b.close();
  });
});
