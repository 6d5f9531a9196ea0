/**
 * In Chromium: OPFS keeps events across reloads and a browser restart, and every error
 * raised in the worker reaches the page as its own class.
 */
import type { BrowserContext, Page } from '@playwright/test';
import { expect, launchPersistent, makeProfile, openReadyPage, removeProfile, test } from '../fixtures.ts';

test.describe.configure({ timeout: 120_000 });

test.describe('OPFS persistence', () => {
  // One profile for the three tests, in order: each reads what the ones before it wrote.
  test.describe.configure({ mode: 'serial' });
  let profile: string;
  let chrome: BrowserContext;
  let baseUrl: string;
  test.beforeAll(async ({ appUrl }) => {
    baseUrl = appUrl;
    profile = makeProfile();
    chrome = await launchPersistent(profile);
  });
  test.afterAll(async () => {
    await chrome?.close();
    removeProfile(profile);
  });

  const appendTwo = (page: Page, stream: string) =>
    page.evaluate(async (s) => {
      const store = await window.cairnTest.cairn.openStore({ name: 'persist', storage: 'opfs' });
      const r = await store.append(s, [{ type: 'Saved', data: { s } }, { type: 'Saved', data: { n: 2 } }]);
      await store.close();
      return r.position;
    }, stream);
  const readAll = (page: Page) =>
    page.evaluate(async () => {
      const store = await window.cairnTest.cairn.openStore({ name: 'persist', storage: 'opfs' });
      const page = await store.read({}, { first: 100 });
      await store.close();
      return { storage: store.storage, events: page.edges.map((e) => [e.node.position, e.node.stream, e.node.version]) };
    });

  test('keeps events across a page reload', async () => {
    const page = await openReadyPage(chrome, baseUrl);
    expect(await appendTwo(page, 'doc-1')).toBe(2);
    await page.reload();
    await page.waitForFunction(() => document.title === 'ready');
    expect(await readAll(page)).toEqual({ storage: 'opfs', events: [[1, 'doc-1', 1], [2, 'doc-1', 2]] });
    await page.close();
  });

  test('keeps events across a reload without close(), with the store still open', async () => {
    const page = await openReadyPage(chrome, baseUrl);
    await page.evaluate(async () => {
      const store = await window.cairnTest.cairn.openStore({ name: 'persist', storage: 'opfs' });
      await store.append('doc-2', [{ type: 'Saved' }]);
      // No close: the page goes away with the worker still holding the database.
    });
    await page.reload();
    await page.waitForFunction(() => document.title === 'ready');
    const { events } = await readAll(page);
    expect(events.at(-1)).toEqual([3, 'doc-2', 1]);
    await page.close();
  });

  test('keeps events across a browser restart on the same profile', async () => {
    await chrome.close();
    chrome = await launchPersistent(profile);
    const page = await openReadyPage(chrome, baseUrl);
    expect((await readAll(page)).events).toEqual([
      [1, 'doc-1', 1],
      [2, 'doc-1', 2],
      [3, 'doc-2', 1],
    ]);
    expect(await appendTwo(page, 'doc-3')).toBe(5);
  });
});

test.describe('errors from the worker keep their class', () => {
  test('rebuilds every code raised in the worker as its own class, with its fields', async ({ harness }) => {
    const result = await harness.evaluate(async () => {
      const { rawWorker, caught } = window.cairnTest;
      const w = rawWorker();
      const r = w.remote;
      const id = '01HZZZZZZZZZZZZZZZZZZZZZZA';
      const ev = (over: object = {}) => ({ id, type: 'T', data: '{}', metadata: null, schemaVersion: 1, ...over });
      const req = (over: object = {}, event: object = {}) => ({
        stream: 's-1', events: [ev(event)], expectedVersion: 'any' as const, routingKey: null, ...over,
      });
      await r.open({ name: 'raw', storage: 'opfs', durability: 'strict', maxEventBytes: 64, leaderTimeout: 10_000, queryTimeout: 5000 });
      await r.append(req());
      const out = {
        conflict: await caught(() => r.append(req({ expectedVersion: 'no_stream' }, { id: '01HZZZZZZZZZZZZZZZZZZZZZZB' }))),
        duplicate: await caught(() => r.append(req({ stream: 's-2' }))),
        badId: await caught(() => r.append(req({}, { id: 'nope' }))),
        emptyType: await caught(() => r.append(req({}, { type: '', id: '01HZZZZZZZZZZZZZZZZZZZZZZC' }))),
        tooLarge: await caught(() => r.append(req({}, { data: JSON.stringify('x'.repeat(100)), id: '01HZZZZZZZZZZZZZZZZZZZZZZD' }))),
        notEncoded: await caught(() => r.append(req({}, { data: { raw: true }, id: '01HZZZZZZZZZZZZZZZZZZZZZZE' }))),
        badStream: await caught(() => r.append(req({ stream: 'a\u0001b' }))),
        badCursor: await caught(() => r.read({}, { first: 1, after: '???' })),
        closed: null as Awaited<ReturnType<typeof caught>>,
        head: await r.head(),
      };
      await r.close();
      out.closed = await caught(() => r.head());
      w.terminate();
      return out;
    });
    const expectClass = (c: (typeof result)['conflict'], code: string) => {
      expect(c?.code).toBe(code);
      expect(c?.isOwnClass).toBe(true);
      expect(c?.isCairnError).toBe(true);
    };
    expectClass(result.conflict, 'VERSION_CONFLICT');
    expect(result.conflict!.fields).toEqual({ stream: 's-1', expected: 'no_stream', actual: 1 });
    expectClass(result.duplicate, 'DUPLICATE_EVENT_ID');
    expect(result.duplicate!.fields.id).toBe('01HZZZZZZZZZZZZZZZZZZZZZZA');
    expectClass(result.badId, 'INVALID_EVENT');
    expectClass(result.emptyType, 'INVALID_EVENT');
    expectClass(result.tooLarge, 'INVALID_EVENT');
    expect(result.tooLarge!.message).toMatch(/limit of 64/);
    expectClass(result.notEncoded, 'INVALID_EVENT');
    expectClass(result.badStream, 'INVALID_STREAM');
    expectClass(result.badCursor, 'INVALID_ARGUMENT');
    expectClass(result.closed, 'STORE_CLOSED');
    // Nothing but the first append was written.
    expect(result.head).toBe(1);
  });

  test('reports STORAGE_UNAVAILABLE when OPFS is required but missing, and falls back to IndexedDB when auto', async ({ harness }) => {
    const result = await harness.evaluate(async () => {
      const { cairn, caught, noOpfsWorker } = window.cairnTest;
      const forced = await caught(() => cairn.openStore({ name: 'private', storage: 'opfs', worker: noOpfsWorker }));
      const auto = await cairn.openStore({ name: 'private', storage: 'auto', worker: noOpfsWorker });
      const appended = await auto.append('s', [{ type: 'InMemory' }]);
      await auto.close();
      const indexeddb = await cairn.openStore({ name: 'idb', storage: 'indexeddb' });
      await indexeddb.close();
      return { forced, auto: auto.storage, appended: appended.position, indexeddb: indexeddb.storage };
    });
    expect(result.forced?.code).toBe('STORAGE_UNAVAILABLE');
    expect(result.forced?.isOwnClass).toBe(true);
    expect(result.forced?.message).toMatch(/OPFS is not available/);
    expect(result.auto).toBe('indexeddb');
    expect(result.appended).toBe(1);
    expect(result.indexeddb).toBe('indexeddb');
  });
});
