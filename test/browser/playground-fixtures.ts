/**
 * Fixtures of the playground's browser tests: `playground`, the dev server that
 * `npm run demo` starts (Vite with the top-level vite.config.ts) on a free port, one per
 * test file; and `shoot`, which attaches a screenshot to the test's report (and, with
 * CAIRN_SCREENSHOTS=<folder>, also writes it there: how the README's picture is made).
 */
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { Page } from '@playwright/test';
import { createServer, type ViteDevServer } from 'vite';
import { test as base } from '../fixtures.ts';

interface PlaygroundFixtures {
  /** Takes a screenshot of `page` and attaches it to the report as `name`. */
  shoot: (page: Page, name: string) => Promise<void>;
}

interface PlaygroundWorkerFixtures {
  /** The playground's URL. */
  playground: string;
}

/** The test function of the playground's suites. */
export const test = base.extend<PlaygroundFixtures, PlaygroundWorkerFixtures>({
  playground: [
    async ({}, use) => {
      const server: ViteDevServer = await createServer({
        configFile: fileURLToPath(new URL('../../vite.config.ts', import.meta.url)),
        server: { host: '127.0.0.1', port: 0, strictPort: false },
        logLevel: 'warn',
      });
      await server.listen();
      try {
        await use(server.resolvedUrls!.local[0]!);
      } finally {
        await server.close();
      }
    },
    { scope: 'worker' },
  ],
  shoot: async ({}, use, testInfo) => {
    await use(async (page, name) => {
      const body = await page.screenshot();
      await testInfo.attach(name, { body, contentType: 'image/png' });
      const folder = process.env.CAIRN_SCREENSHOTS;
      if (folder) {
        mkdirSync(folder, { recursive: true });
        writeFileSync(join(folder, `${name}.png`), body);
      }
    });
  },
});

export { expect } from '../fixtures.ts';
