import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import type { Page } from 'playwright-core';
import { defineContract } from '../contract/contract.ts';
import { launchChromium, makeProfile, removeProfile, type RunningChromium } from './chromium.ts';

const baseUrl = inject('baseUrl');
let chrome: RunningChromium;
let page: Page;
const profile = makeProfile();

beforeAll(async () => {
  chrome = await launchChromium(profile);
  page = await chrome.openPage(baseUrl);
});
afterAll(async () => {
  await chrome?.close();
  removeProfile(profile);
});

describe('contract: Chromium, dedicated worker on OPFS', () => {
  defineContract(
    (name) => page.evaluate(([n]) => window.cairnTest.runScenario(n, 'opfs', 'opfs') as never, [name] as const),
    { storage: 'opfs' },
  );
});

describe('contract: Chromium, dedicated worker in memory', () => {
  defineContract(
    (name) => page.evaluate(([n]) => window.cairnTest.runScenario(n, 'memory', 'mem') as never, [name] as const),
    { storage: 'memory' },
  );
});
