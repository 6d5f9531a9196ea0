import { chromium } from '@playwright/test';
import { createServer } from 'vite';
import { mkdtempSync } from 'node:fs';
const server = await createServer({ configFile: '/work/wt-ui/vite.config.ts', server: { host: '127.0.0.1', port: 0, strictPort: false }, logLevel: 'warn' });
await server.listen();
const url = server.resolvedUrls.local[0];
const ctx = await chromium.launchPersistentContext(mkdtempSync('/tmp/prof-'), { executablePath: '/usr/bin/chromium', args: ['--no-sandbox','--disable-gpu','--disable-dev-shm-usage'], headless: true, viewport: { width: 1440, height: 900 } });
const page = await ctx.newPage();
page.on('console', (m) => console.log('console:', m.type(), m.text()));
page.on('pageerror', (e) => console.log('pageerror:', e.message));
await page.goto(url);
await page.waitForSelector('body[data-role]', { timeout: 60000 });
await page.waitForTimeout(1500);
await page.screenshot({ path: '/tmp/shots/1.png' });
for (const v of process.argv.slice(2)) {
  await page.click(`[data-view=${v}]`);
  await page.waitForTimeout(1200);
  await page.screenshot({ path: `/tmp/shots/${v}.png` });
}
await ctx.close(); await server.close();
