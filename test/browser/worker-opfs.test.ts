import { describe } from 'vitest';
import { defineContract } from '../contract/contract.ts';
import { useChromium } from './use-chromium.ts';

const browser = useChromium();

describe('contract: Chromium, dedicated worker on OPFS', () => {
  defineContract(
    (name) => browser.page.evaluate(([n]) => window.cairnTest.runScenario(n, 'opfs', 'opfs') as never, [name] as const),
    { storage: 'opfs' },
  );
});

describe('contract: Chromium, dedicated worker in memory', () => {
  defineContract(
    (name) => browser.page.evaluate(([n]) => window.cairnTest.runScenario(n, 'memory', 'mem') as never, [name] as const),
    { storage: 'memory' },
  );
});
