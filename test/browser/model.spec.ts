/**
 * The model test through the worker in Chromium, on OPFS: the same random groups of calls
 * as in Node (`test/unit/model.test.ts`), generated and checked here, run in the page.
 */
import { checkModel } from '../contract/model.ts';
import { expect, test } from '../fixtures.ts';

test('agrees with the model over 30 random sequences of grouped calls through the worker', async ({ harness }) => {
  test.setTimeout(300_000);
  const stamp = Date.now();
  const counts = await checkModel((i) => (groups) => harness.evaluate(([n, g]) => window.cairnTest.runModel(n, g), [`model-${stamp}-${i}`, groups] as const), 30);
  console.log(`[model, Chromium] ${JSON.stringify(counts)}`);
  expect(counts.sequences).toBe(30);
  expect(counts.refused).toBeGreaterThan(0);
});
