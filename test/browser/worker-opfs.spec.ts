/** The core contract suite through the real worker in Chromium: on OPFS, and in memory. */
import type { Page } from '@playwright/test';
import { defineContract, type DefineTest } from '../contract/contract.ts';
import { test } from '../fixtures.ts';

test.describe.configure({ timeout: 120_000 });

/** The harness page of the test running now. */
let page: Page;
/** Each contract test, on a harness page of its own. */
const onHarness: DefineTest = (name, body) =>
  test(name, async ({ harness }) => {
    page = harness;
    await body();
  });

test.describe('contract: Chromium, dedicated worker on OPFS', () => {
  defineContract(
    (name) => page.evaluate(([n]) => window.cairnTest.runScenario(n, 'opfs', 'opfs') as never, [name] as const),
    { storage: 'opfs' },
    onHarness,
  );
});

test.describe('contract: Chromium, dedicated worker in memory', () => {
  defineContract(
    (name) => page.evaluate(([n]) => window.cairnTest.runScenario(n, 'memory', 'mem') as never, [name] as const),
    { storage: 'memory' },
    onHarness,
  );
});
