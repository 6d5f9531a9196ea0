/**
 * The package as users get it: `npm pack`, installed into scratch apps outside the
 * repository and built by their own bundlers with no special config, then run in real
 * browsers (and Node) the way a user would run them. See `scratch.ts`.
 */
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import type { BrowserContext, Page } from '@playwright/test';
import type { Browser as FirefoxBrowser } from 'puppeteer-core';
import { expect, launchPersistent, makeProfile, removeProfile, test, waitForTitle } from '../fixtures.ts';
import { nodeBinary, prepareScratch, serveStatic, startVite, REPO, type AppServer, type Scratch } from './scratch.ts';
import { gzipSizes, loadSizes, SIZE_TOLERANCE, sizeBudget } from './sizes.ts';

test.describe.configure({ mode: 'serial' });

let scratch: Scratch;

test.beforeAll(async () => {
  test.setTimeout(300_000);
  scratch = await prepareScratch();
  // Every build a test needs, once.
  await Promise.all([
    scratch.exec(scratch.app('vite-quickstart'), 'npx', ['vite', 'build']),
    scratch.exec(scratch.app('vite-worker'), 'npx', ['vite', 'build']),
  ]);
  await Promise.all([
    scratch.exec(scratch.app('vite-devtools'), 'npx', ['vite', 'build']),
    scratch.exec(scratch.app('vite-devtools'), 'npx', ['vite', 'build', '--config', 'vite.size.config.ts']),
    scratch.exec(scratch.app('vite-react'), 'npx', ['vite', 'build']),
  ]);
  await scratch.exec(scratch.app('webpack-quickstart'), 'npx', ['webpack']);
  await scratch.exec(scratch.app('contexts'), 'npx', ['vite', 'build']);
  await scratch.exec(scratch.app('contexts'), 'npx', ['vite', 'build', '--config', 'vite.sw.config.ts']);
});

test.afterAll(() => scratch?.remove());

test('the tarball holds the built entry points, types and licence, and nothing unused', () => {
  const files = scratch.packed.files.map((f) => f.path);
  console.log(`tarball: ${scratch.packed.size} bytes, ${scratch.packed.unpackedSize} unpacked, ${files.length} files`);
  for (const needed of [
    'package.json',
    'README.md',
    'LICENSE',
    'dist/src/client/index.js',
    'dist/src/client/index.d.ts',
    'dist/worker/index.js',
    'dist/worker/index.d.ts',
    'dist/worker/default.js',
    'dist/src/core/index.js',
    'dist/src/core/index.d.ts',
    'dist/src/react/index.js',
    'dist/src/react/index.d.ts',
    'dist/src/devtools/index.js',
    'dist/src/devtools/index.d.ts',
  ]) {
    expect(files, needed).toContain(needed);
  }
  // SQLite's WASM comes from the sqlite-wasm dependency as a file; Cairn ships none, inlined or not.
  expect(files.filter((f) => f.endsWith('.wasm') || /worker1|\.map$|\.test\.|^test\/|^bench\/|^demo\//.test(f))).toEqual([]);
  const installed = join(scratch.root, 'node_modules', 'cairndb');
  for (const file of files.filter((f) => f.endsWith('.js'))) {
    const text = readFileSync(join(installed, file), 'utf8');
    expect(text.includes('AGFzbQ') || text.includes('data:application/wasm'), `${file} inlines WASM`).toBe(false);
  }
  // The built-in worker is referenced as a module of the package, for the app's bundler to pick up.
  const inWorker = readFileSync(join(installed, 'dist/src/client/in-worker.js'), 'utf8');
  expect(inWorker).toContain("new Worker(new URL('../../worker/default.js', import.meta.url)");
  expect(existsSync(join(installed, 'dist/worker/default.js'))).toBe(true);
});

test('are-the-types-wrong (ESM only) and publint pass on the tarball', async () => {
  const attw = await scratch.exec(REPO, 'npx', ['attw', '--profile', 'esm-only', '--format', 'table-flipped', scratch.packed.tarball]);
  console.log(attw);
  // attw exits non-zero on any problem its profile does not ignore; also check each entry point's row.
  for (const entry of ['"cairndb"', '"cairndb/worker"', '"cairndb/core"', '"cairndb/react"', '"cairndb/devtools"']) {
    const cells = (attw.split('\n').find((l) => l.includes(entry)) ?? '').split('│').map((c) => c.trim());
    // [before, name, node16 from ESM, bundler, ...]
    expect(cells.slice(2, 4).map((c) => c.includes('🟢')), `${entry}: ${cells.join(' | ')}`).toEqual([true, true]);
  }
  const publint = await scratch.exec(REPO, 'npx', ['publint', '--strict', '--pack', 'false', join(scratch.root, 'node_modules', 'cairndb')]);
  console.log(publint);
  expect(publint).toContain('All good!');
});

test('the types from the package narrow event data by type, and refuse wrong data', async () => {
  await scratch.exec(scratch.app('types'), 'npx', ['tsc', '-p', 'tsconfig.json']);
});

for (const major of [20, 22]) {
  test(`Node ${major} imports cairndb and cairndb/core from an ESM script and runs the quick start`, async () => {
    test.setTimeout(180_000);
    const node = await nodeBinary(major);
    const out = await scratch.exec(scratch.app('node'), node, ['check.mjs']);
    const logs = out.trim().split('\n');
    expect(logs).toContain('storage: memory');
    expectQuickStart(logs, 1);
    expect(logs.find((l) => l.startsWith('core: '))).toBe('core: {"version":1,"position":1,"head":1}');
  });
}

test('the cairndb-server command and cairndb/server from the package: two Node stores converge through each', async () => {
  test.setTimeout(180_000);
  const out = await scratch.exec(scratch.app('server'), process.execPath, ['check.mjs']);
  const logs = out.trim().split('\n');
  expect(logs).toContain('health: 200');
  expect(logs).toContain('wrong token: 401');
  const both = '["cart-1@1:A:true","cart-2@1:B:true"]';
  expect(logs).toContain(`command: ${both} ${both} idle/0`);
  expect(logs).toContain(`mounted: ${both} ${both} idle/0`);
});

test.describe('Vite, no config, built and previewed', () => {
  let quick: AppServer;
  let own: AppServer;
  test.beforeAll(async () => {
    quick = await startVite(scratch.app('vite-quickstart'), 'preview');
    own = await startVite(scratch.app('vite-worker'), 'preview');
  });
  test.afterAll(async () => {
    await quick?.stop();
    await own?.stop();
  });

  test('the README quick start on the built-in worker, on OPFS in Chromium, twice with a reload', async ({ persistent }) => {
    const page = await persistent.newPage();
    const fetched: string[] = [];
    page.on('request', (request) => {
      const url = new URL(request.url());
      if (url.origin === new URL(quick.url).origin && /\.(js|wasm)$/.test(url.pathname)) fetched.push(url.pathname.slice(1));
    });
    expectQuickStart(await runChromium(page, quick.url), 1);
    const sizes = loadSizes(join(scratch.app('vite-quickstart'), 'dist'), fetched);
    expectQuickStart(await runChromium(page, quick.url, true), 2);
    // What a page of the app loads from Cairn, held to the committed budget.
    const budget = sizeBudget();
    console.log(`gzip bytes loaded: ${JSON.stringify(sizes)} (budget ${JSON.stringify(budget)}, +${SIZE_TOLERANCE * 100}% allowed)`);
    for (const part of ['page', 'worker', 'wasm'] as const) {
      expect(sizes[part], `${part} gzip bytes`).toBeGreaterThan(0);
      expect(sizes[part], `${part} gzip bytes over budget`).toBeLessThanOrEqual(budget[part] * (1 + SIZE_TOLERANCE));
    }
  });

  test('an app with its own worker and a projection, in Chromium, twice with a reload', async ({ persistent }) => {
    const page = await persistent.newPage();
    expect(ownWorkerResult(await runChromium(page, own.url))).toEqual({ storage: 'opfs', role: 'leader', qty: 3, events: 1 });
    expect(ownWorkerResult(await runChromium(page, own.url, true))).toEqual({ storage: 'opfs', role: 'leader', qty: 6, events: 2 });
  });

  test('both apps in Firefox ESR, twice with a reload', async ({ firefox }) => {
    expectQuickStart(await runFirefox(firefox, quick.url, 2).then((runs) => runs[0]!), 1);
    const runs = await runFirefox(firefox, own.url, 2);
    expect(ownWorkerResult(runs[0]!)).toEqual({ storage: 'opfs', role: 'leader', qty: 3, events: 1 });
    expect(ownWorkerResult(runs[1]!)).toEqual({ storage: 'opfs', role: 'leader', qty: 6, events: 2 });
  });
});

test.describe('Vite, no config, dev server', () => {
  test('the quick start and the own-worker app run from `vite` in Chromium, and keep their data across a reload', async ({ persistent }) => {
    const quick = await startVite(scratch.app('vite-quickstart'), 'dev');
    const own = await startVite(scratch.app('vite-worker'), 'dev');
    try {
      const page = await persistent.newPage();
      // The first visit may make Vite optimise dependencies and reload the page once, so
      // the run that finishes is not always the first: check each run against the one before.
      const first = appendedVersion(await runChromium(page, quick.url));
      expectQuickStart(await runChromium(page, quick.url, true), first + 1);
      const before = ownWorkerResult(await runChromium(page, own.url));
      expect(before).toMatchObject({ storage: 'opfs', role: 'leader' });
      expect(before.qty).toBe(before.events * 3);
      const after = ownWorkerResult(await runChromium(page, own.url, true));
      expect(after).toEqual({ storage: 'opfs', role: 'leader', qty: (before.events + 1) * 3, events: before.events + 1 });
    } finally {
      await quick.stop();
      await own.stop();
    }
  });
});

test.describe('cairndb/devtools and cairndb/react in Vite apps, built and previewed', () => {
  let devtools: AppServer;
  let react: AppServer;
  test.beforeAll(async () => {
    devtools = await startVite(scratch.app('vite-devtools'), 'preview');
    react = await startVite(scratch.app('vite-react'), 'preview');
  });
  test.afterAll(async () => {
    await devtools?.stop();
    await react?.stop();
  });

  test('mountInspector and <cairn-inspector> show the store; the inspector loads nothing until mounted, then each heavy view on first opening', async ({ persistent }) => {
    const page = await persistent.newPage();
    const fetched: string[] = [];
    page.on('request', (request) => {
      const url = new URL(request.url());
      if (url.origin === new URL(devtools.url).origin && url.pathname.endsWith('.js')) fetched.push(url.pathname.slice(1));
    });
    const errors: string[] = [];
    page.on('pageerror', (e) => void errors.push(e.message));
    await page.goto(devtools.url);
    await page.waitForFunction(() => document.title === 'ready' || document.title === 'failed', null, { timeout: 60_000 });
    expect(await page.title(), errors.join('\n')).toBe('ready');
    const phase = (): string[] => fetched.splice(0);
    const atLoad = phase();
    const lazy = /(^|\/)(inspector-app|sql-editor|commit-chart)-[\w-]+\.js$/;
    expect(atLoad.filter((f) => lazy.test(f))).toEqual([]);

    await page.click('#mount');
    await page.waitForFunction(() => document.title === 'mounted' || document.title === 'failed');
    expect(await page.title(), errors.join('\n')).toBe('mounted');
    const inspector = page.locator('#inspector [data-cairn-inspector]');
    await expect(inspector.locator('tr[data-position="1"]')).toContainText('cart-1');
    await expect(inspector.locator('header [data-role]')).toHaveText('leader');
    // The element, on its `view` attribute.
    await expect(page.locator('#element main.view')).toHaveAttribute('data-view', 'streams');
    await expect(page.locator('#element tr[data-stream="cart-1"]')).toBeVisible();
    await page.waitForLoadState('networkidle');
    const atMount = phase();

    await inspector.locator('[data-view=sql]').click();
    await expect(inspector.locator('.sql-view')).toHaveAttribute('data-editor', 'ready');
    await expect(inspector.locator('.cm-content')).toBeVisible();
    await inspector.locator('[data-action=run]').click();
    await expect(inspector.locator('.result-table tbody tr')).toHaveText([/ItemAdded\s*1\s*1/]);
    const atSql = phase();

    await inspector.locator('[data-view=activity]').click();
    await expect(inspector.locator('.activity-view')).toHaveAttribute('data-chart', 'ready');
    await expect(inspector.locator('.chart canvas').first()).toBeVisible();
    const atChart = phase();
    expect(errors).toEqual([]);

    expect(atMount.filter((f) => lazy.test(f)).map(chunkName)).toEqual(['inspector-app']);
    expect(atSql.map(chunkName)).toEqual(['sql-editor']);
    expect(atChart.map(chunkName)).toEqual(['commit-chart']);

    // What each part weighs, gzipped: in the app as built, and the tiny entry from a build of it alone.
    const dist = join(scratch.app('vite-devtools'), 'dist');
    const sizeDist = join(scratch.app('vite-devtools'), 'dist-size');
    const entryChunks = ['entry.js', ...readdirSync(join(sizeDist, 'assets')).filter((f) => /^context-/.test(f)).map((f) => `assets/${f}`)];
    const sizes = {
      entry: gzipSizes(sizeDist, entryChunks).total,
      mount: gzipSizes(dist, atMount).total,
      sql: gzipSizes(dist, atSql).total,
      chart: gzipSizes(dist, atChart).total,
    };
    console.log(`devtools gzip bytes: ${JSON.stringify(sizes)} (entry chunks ${entryChunks.join(', ')})`);
    expect(sizes.entry, 'the tiny entry').toBeLessThan(3_000);
    expect(sizes.mount, 'the inspector without its editor and chart').toBeLessThan(30_000);
  });

  test('an app on cairndb/react: Suspense, a live query, an aggregate and a stream, in Chromium', async ({ persistent }) => {
    const page = await persistent.newPage();
    const errors: string[] = [];
    page.on('pageerror', (e) => void errors.push(e.message));
    await page.goto(react.url);
    await page.waitForFunction(() => document.title === 'ready' || document.title === 'failed', null, { timeout: 60_000 });
    expect(await page.title(), errors.join('\n')).toBe('ready');
    await expect(page.locator('#count')).toHaveText('events: 0');
    await expect(page.locator('#total')).toHaveText('total: 0 at version 0');
    await page.click('#append');
    await expect(page.locator('#count')).toHaveText('events: 1');
    await expect(page.locator('#total')).toHaveText('total: 1 at version 1');
    await page.click('#add');
    await expect(page.locator('#total')).toHaveText('total: 3 at version 2');
    await expect(page.locator('#count')).toHaveText('events: 2');
    await expect(page.locator('#feed')).toHaveText('new: 1,2');
    // The data stays across a reload (OPFS), and the hooks start from it.
    await page.reload();
    await expect(page.locator('#total')).toHaveText('total: 3 at version 2');
    expect(errors).toEqual([]);
  });
});

test('webpack 5: the quick start, built and run in Chromium, twice with a reload', async ({ persistent }) => {
  const server = await serveStatic(scratch.app('webpack-quickstart'));
  try {
    const page = await persistent.newPage();
    expectQuickStart(await runChromium(page, `${server.url}dist.html`), 1);
    expectQuickStart(await runChromium(page, `${server.url}dist.html`, true), 2);
  } finally {
    await server.stop();
  }
});

test.describe('openStore outside a page, in Chromium', () => {
  let server: AppServer;
  let context: BrowserContext;
  let profile: string;
  let page: Page;
  test.beforeAll(async () => {
    server = await serveStatic(join(scratch.app('contexts'), 'dist'));
    profile = makeProfile();
    context = await launchPersistent(profile);
    page = await context.newPage();
    await page.goto(server.url);
    await page.waitForFunction(() => document.title === 'ready');
  });
  test.afterAll(async () => {
    await context?.close();
    removeProfile(profile);
    await server?.stop();
  });
  const ask = (kind: string, name: string, storage: string) =>
    page.evaluate(([k, n, s]) => (window as unknown as { ask: (k: string, r: unknown) => Promise<unknown> }).ask(k!, { name: n, storage: s }), [
      kind,
      name,
      storage,
    ]);

  test('a dedicated worker gets a store on OPFS that keeps its data', async () => {
    expect(await ask('dedicated', 'ctx-dedicated', 'auto')).toEqual({ storage: 'opfs', role: 'leader', events: 1 });
    await page.reload();
    await page.waitForFunction(() => document.title === 'ready');
    expect(await ask('dedicated', 'ctx-dedicated', 'opfs')).toEqual({ storage: 'opfs', role: 'leader', events: 2 });
  });

  test("a shared worker gets a store in-process on IndexedDB that keeps its data; 'opfs' is STORAGE_UNAVAILABLE", async () => {
    const reply = (await ask('shared', 'ctx-shared', 'auto')) as { storage?: string };
    console.log(`shared worker, auto: ${JSON.stringify(reply)}`);
    expect(reply).toEqual({ storage: 'indexeddb', role: 'leader', events: 1 });
    expect(await ask('shared', 'ctx-shared', 'indexeddb')).toEqual({ storage: 'indexeddb', role: 'leader', events: 2 });
    expect(await ask('shared', 'ctx-shared-memory', 'memory')).toEqual({ storage: 'memory', role: 'leader', events: 1 });
    expect(await ask('shared', 'ctx-shared-opfs', 'opfs')).toMatchObject({ error: 'STORAGE_UNAVAILABLE' });
  });

  test("a service worker: 'auto' gets IndexedDB in-process and keeps its data, and 'opfs' is STORAGE_UNAVAILABLE", async () => {
    expect(await ask('service', 'ctx-service', 'auto')).toEqual({ storage: 'indexeddb', role: 'leader', events: 1 });
    expect(await ask('service', 'ctx-service', 'auto')).toEqual({ storage: 'indexeddb', role: 'leader', events: 2 });
    expect(await ask('service', 'ctx-service-opfs', 'opfs')).toMatchObject({ error: 'STORAGE_UNAVAILABLE' });
  });
});

/** A built chunk's name without its folder and hash: `assets/sql-editor-x1Y2.js` → `sql-editor`. */
function chunkName(path: string): string {
  return path.replace(/^.*\//, '').replace(/-[\w-]{8}\.js$/, '');
}

/** Loads (or reloads) a page until it is done, and returns what it logged on the way. */
async function runChromium(page: Page, url: string, reload = false): Promise<string[]> {
  const logs: string[] = [];
  const onConsole = (m: { text(): string }): void => void logs.push(m.text());
  const onError = (e: Error): void => void logs.push(`pageerror: ${e.message}`);
  page.on('console', onConsole);
  page.on('pageerror', onError);
  try {
    if (reload) await page.reload();
    else await page.goto(url);
    await page.waitForFunction(() => document.title === 'done' || document.title === 'failed', null, { timeout: 60_000 });
    expect(await page.title(), logs.join('\n')).toBe('done');
    return logs;
  } finally {
    page.off('console', onConsole);
    page.off('pageerror', onError);
  }
}

/** Loads a page in Firefox, then reloads it `times - 1` times; the logs of each run. */
async function runFirefox(browser: FirefoxBrowser, url: string, times: number): Promise<string[][]> {
  const page = await browser.newPage();
  const runs: string[][] = [];
  let logs: string[] = [];
  page.on('console', (m) => void logs.push(m.text()));
  for (let i = 0; i < times; i++) {
    logs = [];
    if (i === 0) await page.goto(url);
    else await page.reload();
    const title = await waitForTitle(page, ['done', 'failed'], 60_000);
    expect(title, logs.join('\n')).toBe('done');
    runs.push(logs);
  }
  await page.close();
  return runs;
}

/** Checks the quick start's log of its `run`th run on the same store. */
function expectQuickStart(logs: readonly string[], run: number): void {
  const line = (prefix: string): string | undefined => logs.find((l) => l.startsWith(prefix));
  expect(line('appended: '), logs.join('\n')).toBe(`appended: ${run} ${run}`);
  expect(line('conflict: ')).toBe(`conflict: cart-42 ${run - 1} ${run}`);
  expect(line('cart-42 holds ')).toBe(`cart-42 holds ${run} events`);
  expect(line('first page: ')).toBe(`first page: ${run} ItemAdded events`);
  expect(logs.filter((l) => /^\d+ ItemAdded$/.test(l))).toEqual(Array.from({ length: run }, (_, i) => `${i + 1} ItemAdded`));
}

function appendedVersion(logs: readonly string[]): number {
  const line = logs.find((l) => l.startsWith('appended: '));
  if (line === undefined) throw new Error(`The quick start appended nothing:\n${logs.join('\n')}`);
  return Number(line.split(' ')[1]);
}

function ownWorkerResult(logs: readonly string[]): { storage: string; role: string; qty: number; events: number } {
  const line = logs.find((l) => l.startsWith('result: '));
  if (line === undefined) throw new Error(`The app reported nothing:\n${logs.join('\n')}`);
  return JSON.parse(line.slice('result: '.length)) as { storage: string; role: string; qty: number; events: number };
}
