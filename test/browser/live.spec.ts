/** The live contract suite through the real worker in Chromium on OPFS, and durable consumers across page lifetimes. */
import type { Page } from '@playwright/test';
import type { DefineTest } from '../contract/contract.ts';
import { defineLiveContract } from '../contract/live-contract.ts';
import { expect, test } from '../fixtures.ts';

test.describe.configure({ timeout: 120_000 });

/** The harness page of the contract test running now. */
let page: Page;
/** Each contract test, on a harness page of its own. */
const onHarness: DefineTest = (name, body) =>
  test(name, async ({ harness }) => {
    page = harness;
    await body();
  });

test.describe('live contract: Chromium, dedicated worker on OPFS', () => {
  defineLiveContract(
    (name) => page.evaluate(([n]) => window.cairnTest.runLiveScenario(n, 'live') as never, [name] as const),
    onHarness,
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

test.describe('durable consumers across page lifetimes (Chromium, OPFS)', () => {
  test('resumes from its checkpoint after a reload, repeating only the event whose handler had not finished', async ({ openPage }) => {
    const name = `resume-${Date.now()}`;
    const p = await openPage();
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

  test('moves to another tab when its tab closes, from the checkpoint', async ({ openPage }) => {
    const name = `takeover-${Date.now()}`;
    const a = await openPage();
    await a.evaluate((n) => window.cairnTest.openAndAppend(n, 8), name);
    expect(await a.evaluate((n) => window.cairnTest.startRecordingConsumer(n, 'mailer', 4), name)).toBe('waiting');
    await waitUntil(a, (r) => r.started.includes(4), name);
    // Tab B opens the store as tab A closes (both tabs open at once: live-tabs.spec.ts).
    const b = await openPage();
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
