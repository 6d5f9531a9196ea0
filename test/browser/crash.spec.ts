/** Chromium SIGKILLed, with its whole process group, in the middle of an append loop on OPFS. */
import { expect, test } from '../fixtures.ts';

test.describe.configure({ timeout: 120_000 });

test('keeps every acknowledged batch and no partial batch when the browser is killed mid-append', async ({ spawnChromium, appUrl }) => {
  let chrome = await spawnChromium();
  const page = await chrome.openPage(appUrl);
  const acked: number[] = [];
  await page.exposeFunction('ackBatch', (batch: number) => void acked.push(batch));
  void page
    .evaluate(() => window.cairnTest.appendLoop('crashy', (b) => (window as unknown as { ackBatch(b: number): void }).ackBatch(b)))
    .catch(() => {});
  // Let the loop run, then kill the whole browser at an arbitrary moment.
  while (acked.length < 150) await new Promise((r) => setTimeout(r, 20));
  await chrome.kill();
  const acknowledged = [...acked];

  chrome = await spawnChromium();
  const after = await chrome.openPage(appUrl);
  const events = await after.evaluate(() => window.cairnTest.dump('crashy'));
  const perBatch = new Map<number, number[]>();
  for (const [batch, i] of events) perBatch.set(batch, [...(perBatch.get(batch) ?? []), i]);

  // Every batch the page saw acknowledged is there...
  for (const batch of acknowledged) expect(perBatch.has(batch), `batch ${batch}`).toBe(true);
  // ...and every batch that is there is whole, exactly once, in order.
  for (const [batch, items] of perBatch) expect(items, `batch ${batch}`).toEqual([0, 1, 2, 3, 4]);
  const batches = [...perBatch.keys()];
  expect(batches).toEqual(batches.map((_, i) => i));
  expect(batches.length).toBeGreaterThanOrEqual(acknowledged.length);
});
