import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { createServer, type ViteDevServer } from 'vite';
import { launchChromium, makeProfile, removeProfile, type RunningChromium } from './chromium.ts';

// `npm run demo` is `vite` with the top-level vite.config.ts; this starts the same server.
let server: ViteDevServer;
let chrome: RunningChromium;
const profile = makeProfile();

beforeAll(async () => {
  server = await createServer({
    configFile: fileURLToPath(new URL('../../vite.config.ts', import.meta.url)),
    server: { host: '127.0.0.1', port: 0, strictPort: false },
    logLevel: 'warn',
  });
  await server.listen();
  chrome = await launchChromium(profile);
});
afterAll(async () => {
  await chrome?.close();
  await server?.close();
  removeProfile(profile);
});

it('the playground opens a store on OPFS, appends from its form and lists the log', async () => {
  const page = await chrome.context.newPage();
  await page.goto(server.resolvedUrls!.local[0]!);
  await page.waitForSelector('body[data-storage]', { timeout: 60_000 });
  expect(await page.getAttribute('body', 'data-storage')).toBe('opfs');
  await page.fill('input[name=stream]', 'cart-7');
  await page.click('#append-form button[type=submit]');
  await page.waitForSelector('#log tr');
  await page.click('#append-form button[type=submit]');
  await page.waitForFunction(() => document.querySelectorAll('#log tr').length === 2);
  expect(await page.textContent('#append-result')).toContain('cart-7 is at version 2');
  const rows = await page.$$eval('#log tr', (trs) => trs.map((tr) => [...tr.children].map((td) => td.textContent)));
  expect(rows.map((r) => r.slice(0, 4))).toEqual([
    ['2', 'cart-7', '2', 'ItemAdded'],
    ['1', 'cart-7', '1', 'ItemAdded'],
  ]);
  // A conflict is shown with its code.
  await page.fill('input[name=expectedVersion]', 'no_stream');
  await page.click('#append-form button[type=submit]');
  await page.waitForSelector('#append-result.error');
  expect(await page.textContent('#append-result')).toMatch(/^VERSION_CONFLICT/);
});
