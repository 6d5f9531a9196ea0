/**
 * `npm run demo:sync` in Chromium: the command itself (`scripts/demo-sync.mjs`, on free ports
 * and a database folder of its own: the sync server on its embedded database and the
 * playground's dev server, on 127.0.0.1), and the two device URLs it prints, each open in a
 * browser profile of its own, driven through the playground's own controls:
 * - an event appended in device A's page shows in device B's page, and both sync panels say
 *   they are caught up; the playground without `?sync=` (`npm run demo`) does not sync;
 * - device A offline appends to a stream B moves on meanwhile: back online, A's sync panel
 *   shows the conflict with both sides, and its Rebase button resolves it; B then shows A's event.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { BrowserContext, Page } from '@playwright/test';
import { removeProfile } from '../fixtures.ts';
import { expect, test } from './fixtures.ts';

/** What `npm run demo:sync` printed: the server, the playground without sync, the devices. */
interface Printed {
  serverUrl: string;
  playgroundUrl: string;
  devices: { name: string; url: string }[];
}

let child: ChildProcess;
let demo: Printed;
let dataDir: string;
/** What the command wrote to stderr: warnings and failures. */
let stderr = '';

test.beforeAll(async () => {
  dataDir = mkdtempSync(join(tmpdir(), 'cairn-demo-sync-'));
  // What `npm run demo:sync` runs, on free ports and a database folder of its own. (Not
  // through npm itself: npm dies of the signal that stops it, instead of waiting for its child.)
  const root = fileURLToPath(new URL('../..', import.meta.url));
  const script = (JSON.parse(readFileSync(join(root, 'package.json'), 'utf8')) as { scripts: Record<string, string> }).scripts['demo:sync']!;
  const [command, ...args] = script.split(' ');
  expect(command).toBe('node');
  child = spawn(process.execPath, args, {
    cwd: root,
    env: { ...process.env, CAIRN_DEMO_PORT: '0', CAIRN_SYNC_PORT: '0', CAIRN_DEMO_DATA: dataDir },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  child.stderr!.on('data', (chunk) => (stderr += String(chunk)));
  demo = await new Promise<Printed>((resolve, reject) => {
    let out = '';
    child.stdout!.on('data', (chunk) => {
      out += String(chunk);
      if (!out.includes('Ctrl-C stops')) return;
      const url = (label: string) => new RegExp(`${label}: (http://\\S+)`).exec(out)?.[1];
      resolve({
        serverUrl: url('Cairn sync server')!,
        playgroundUrl: url('Playground without sync')!,
        devices: [...out.matchAll(/^ {2}(device \w): (http:\/\/\S+)$/gm)].map((m) => ({ name: m[1]!, url: m[2]! })),
      });
    });
    child.on('exit', (code) => reject(new Error(`npm run demo:sync exited with ${code}: ${out}${stderr}`)));
  });
});

test.afterAll(async () => {
  // Ctrl-C's signal: both servers stop, and the command exits 0.
  const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));
  child.kill('SIGTERM');
  expect(await exited).toBe(0);
  removeProfile(dataDir);
});

test('demo:sync prints two devices; an event appended on device A shows on device B', async ({ launchDevice }) => {
  expect(demo.devices.map((d) => d.name)).toEqual(['device A', 'device B']);
  expect((await fetch(`${demo.serverUrl}/v1/health`)).status).toBe(200);
  const a = await openDeviceWindow(await launchDevice(), demo.devices[0]!.url);
  const b = await openDeviceWindow(await launchDevice(), demo.devices[1]!.url);
  await expect(a.getByTestId('sync-panel')).toContainText('Sync: device A');
  await expect(a.locator('#status code')).toHaveText('playground-a');
  await expect(b.locator('#status code')).toHaveText('playground-b');

  await appendInForm(a, 'note-demo', 'NoteTaken', '');
  await expect(a.locator('#append-result')).toContainText('note-demo is at version 1');
  await expect(b.getByTestId('feed')).toContainText('note-demo NoteTaken');
  for (const page of [a, b]) {
    await expect(page.getByTestId('sync-state')).toHaveAttribute('data-sync-state', 'idle');
    await expect(page.getByTestId('sync-pending')).toHaveAttribute('data-pending', '0');
  }
  const position = await a.getByTestId('sync-server-position').textContent();
  expect(Number(position)).toBeGreaterThanOrEqual(1);
  await expect(b.getByTestId('sync-server-position')).toHaveText(position!);

  // The playground without ?sync= is `npm run demo`'s: the store `playground`, which does not sync.
  const plain = await (await launchDevice()).newPage();
  await plain.goto(demo.playgroundUrl);
  await plain.waitForSelector('body[data-role]', { timeout: 60_000 });
  await expect(plain.locator('#status code')).toHaveText('playground');
  await expect(plain.getByTestId('sync-panel')).toHaveCount(0);
  expect(stderr).toBe('');
});

test("a conflict shows in device A's sync panel with both sides, and its Rebase button resolves it", async ({ launchDevice }) => {
  const contextA = await launchDevice();
  const a = await openDeviceWindow(contextA, demo.devices[0]!.url);
  const b = await openDeviceWindow(await launchDevice(), demo.devices[1]!.url);
  const stream = `note-${Date.now()}`;
  await appendInForm(a, stream, 'Opened', 'no_stream');
  await expect(b.getByTestId('feed')).toContainText(`${stream} Opened`);

  await contextA.setOffline(true);
  await appendInForm(a, stream, 'FromA', '1');
  await expect(a.locator('#append-result')).toContainText(`${stream} is at version 2`);
  await expect(a.getByTestId('sync-state')).toHaveAttribute('data-sync-state', 'offline');
  await expect(a.getByTestId('sync-pending')).toHaveAttribute('data-pending', '1');
  await appendInForm(b, stream, 'FromB', '1');
  await expect(b.locator('#append-result')).toContainText(`${stream} is at version 2`);
  await expect(b.getByTestId('sync-pending')).toHaveAttribute('data-pending', '0');

  await contextA.setOffline(false);
  const conflict = a.getByTestId('conflict');
  await expect(conflict).toHaveCount(1);
  await expect(conflict).toHaveAttribute('data-stream', stream);
  await expect(conflict).toContainText('expected version 1 and wrote FromA; the server is at version 2 with FromB');
  await conflict.getByRole('button', { name: 'Rebase' }).click();
  await expect(a.getByTestId('no-conflicts')).toBeVisible();
  await expect(b.getByTestId('feed')).toContainText(`${stream} FromA`);
  await expect(a.getByTestId('sync-pending')).toHaveAttribute('data-pending', '0');
  expect(stderr).toBe('');
});

/** Opens a device's URL and waits for its store, its inspector and its first sync. */
async function openDeviceWindow(context: BrowserContext, url: string): Promise<Page> {
  const page = await context.newPage();
  page.on('pageerror', (e) => console.error('[page error]', e.message));
  await page.setViewportSize({ width: 1440, height: 900 });
  await page.goto(url);
  await page.waitForSelector('body[data-role]', { timeout: 60_000 });
  await expect(page.getByTestId('sync-state')).toHaveAttribute('data-sync-state', 'idle');
  return page;
}

/** Appends one event through the playground's raw append form. */
async function appendInForm(page: Page, stream: string, type: string, expectedVersion: string): Promise<void> {
  const form = page.locator('#append-form');
  if (!(await form.isVisible())) await page.getByText('Append any event').click();
  await form.locator('input[name=stream]').fill(stream);
  await form.locator('input[name=type]').fill(type);
  await form.locator('input[name=expectedVersion]').fill(expectedVersion);
  await form.getByRole('button', { name: 'Append' }).click();
}
