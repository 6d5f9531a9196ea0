/**
 * The browser suites, on Playwright Test with the system browsers (Playwright cannot
 * download its own here): Chromium through `launchOptions.executablePath`, Firefox ESR
 * through the puppeteer-core fixture in `test/fixtures.ts`. One worker: real browsers on
 * a 2-core machine.
 */
import { defineConfig } from '@playwright/test';
import { CHROMIUM_ARGS, CHROMIUM_PATH } from './test/support/browsers.ts';

export default defineConfig({
  testDir: './test',
  testMatch: '**/*.spec.ts',
  workers: 1,
  fullyParallel: false,
  forbidOnly: !!process.env.CI,
  timeout: 180_000,
  expect: { timeout: 30_000 },
  globalSetup: './test/support/playwright-setup.ts',
  outputDir: './test-results/artifacts',
  reporter: process.env.CI
    ? [['list'], ['html', { open: 'never', outputFolder: './test-results/html' }]]
    : [['list']],
  use: {
    browserName: 'chromium',
    headless: true,
    launchOptions: { executablePath: CHROMIUM_PATH, args: CHROMIUM_ARGS },
    trace: 'retain-on-failure',
    screenshot: 'only-on-failure',
  },
});
