/**
 * Devices syncing in Chromium, end to end: two browser profiles (two devices, each its own
 * OPFS, its own store and sync client id) and a second tab of one of them, syncing through
 * a real Cairn sync server on a real PostgreSQL, from another origin than the page's (CORS).
 * Everything is observed through the public API in the pages (`store.sync`, reads) and by
 * pulling from the server; waits poll a condition, they never sleep.
 *
 * - the three tabs converge, both ways;
 * - a device offline (`context.setOffline`) appends to a stream the other also appends to,
 *   with exact expected versions: it converges to the server's events and the conflict is
 *   shown to the app with both sides, then resolved (rebase), and both devices converge again;
 * - a device reloaded offline keeps its pending appends (sync status), and pushes each once
 *   when back online;
 * - the leader tab crashed, or closed, while it pushes many pending events (its reply held
 *   after the server stored the push, so the lost reply is certain): the next leader finishes the push,
 *   with nothing lost and nothing twice, on the server and on the other device.
 */
import type { Page } from '@playwright/test';
import { expect, openDevice, test, type SyncSetup } from './fixtures.ts';

type Logged = Awaited<ReturnType<Window['syncTest']['log']>>;

/** The store's events on `page`, by stream then version. */
const log = (page: Page, store: string): Promise<Logged> => page.evaluate((n) => window.syncTest.log(n), store);
const status = (page: Page, store: string) => page.evaluate((n) => window.syncTest.status(n), store);
const append = (page: Page, store: string, stream: string, types: string[], expectedVersion?: number | 'no_stream') =>
  page.evaluate(([n, s, t, v]) => window.syncTest.append(n as string, s as string, t as string[], v as number | 'no_stream' | undefined), [
    store,
    stream,
    types,
    expectedVersion,
  ] as const);

/** What two logs must agree on: each stream's events, at the same versions, with the same ids. */
const shape = (events: Logged) => events.map((e) => `${e.stream}@${e.version}:${e.type}:${e.id}`);

/** The server's events of `token`'s tenant, by stream then version, in the same shape. */
async function serverShape(sync: SyncSetup, token: string): Promise<string[]> {
  const events = await sync.events(token);
  return events
    .map((e) => ({ stream: e.stream, version: e.version, type: e.type, id: e.id }))
    .sort((a, b) => (a.stream < b.stream ? -1 : a.stream > b.stream ? 1 : a.version - b.version))
    .map((e) => `${e.stream}@${e.version}:${e.type}:${e.id}`);
}

/** Waits until the store on `page` is idle with nothing pending. */
async function settled(page: Page, store: string): Promise<void> {
  await expect.poll(async () => {
    const s = await status(page, store);
    return `${s.state}/${s.pending}`;
  }).toBe('idle/0');
}

test('two devices and a second tab converge through the server', async ({ launchDevice, sync, harnessUrl }) => {
  const token = sync.newToken();
  const [deviceA, deviceB] = [await launchDevice(), await launchDevice()];
  const a1 = await deviceA.newPage();
  const a2 = await deviceA.newPage();
  const b = await deviceB.newPage();
  expect(await openDevice(a1, harnessUrl, sync, 'shop', token)).toMatchObject({ role: 'leader', storage: 'opfs' });
  expect(await openDevice(a2, harnessUrl, sync, 'shop', token)).toMatchObject({ role: 'follower' });
  expect(await openDevice(b, harnessUrl, sync, 'shop', token)).toMatchObject({ role: 'leader' });

  // Another origin than the server's: every request of the devices is a CORS one.
  expect(new URL(harnessUrl).origin).not.toBe(new URL(sync.url).origin);

  expect((await append(a1, 'shop', 'cart-1', ['FromA1'], 'no_stream')).result).toMatchObject({ version: 1 });
  // B does nothing: the server's live stream pokes it, well before its 30 s interval.
  await expect.poll(async () => (await log(b, 'shop')).map((e) => `${e.stream}@${e.version}:${e.type}`), { timeout: 10_000 }).toEqual([
    'cart-1@1:FromA1',
  ]);
  expect((await append(a2, 'shop', 'cart-2', ['FromA2'])).result).toMatchObject({ version: 1 });
  expect((await append(b, 'shop', 'cart-3', ['FromB', 'FromB'])).result).toMatchObject({ version: 2 });
  // A's first append is on B already: B's append to the same stream ('any') goes after it.
  expect((await append(b, 'shop', 'cart-1', ['FromB'])).error).toBeNull();

  // Pushed on their own after each append, poked on the other device by the live stream.
  const expected = ['cart-1@1:FromA1', 'cart-1@2:FromB', 'cart-2@1:FromA2', 'cart-3@1:FromB', 'cart-3@2:FromB'];
  const typed = (events: Logged) => events.map((e) => `${e.stream}@${e.version}:${e.type}`);
  await expect.poll(async () => typed(await log(a1, 'shop'))).toEqual(expected);
  await expect.poll(async () => typed(await log(b, 'shop'))).toEqual(expected);
  await expect.poll(async () => typed(await log(a2, 'shop'))).toEqual(expected);
  for (const page of [a1, a2, b]) await settled(page, 'shop');

  const server = await serverShape(sync, token);
  expect(server).toHaveLength(5);
  for (const page of [a1, a2, b]) {
    const events = await log(page, 'shop');
    expect(shape(events)).toEqual(server);
    // Every event is confirmed: it carries the server's position.
    expect(events.every((e) => typeof e.serverPosition === 'number')).toBe(true);
  }
  // The follower tab sees the leader's sync status: the same server position.
  const [s1, s2] = [await status(a1, 'shop'), await status(a2, 'shop')];
  expect(s2.serverPosition).toBe(s1.serverPosition);
  expect(s1.serverPosition).toBe(5);
  expect(sync.log.filter((l) => l.startsWith('error'))).toEqual([]);
});

test('a device offline appends to a stream the other moved on: it converges, the conflict is shown to the app, then resolved', async ({
  launchDevice,
  sync,
  harnessUrl,
}) => {
  const token = sync.newToken();
  const [deviceA, deviceB] = [await launchDevice(), await launchDevice()];
  const a = await deviceA.newPage();
  const b = await deviceB.newPage();
  await openDevice(a, harnessUrl, sync, 'shop', token);
  await openDevice(b, harnessUrl, sync, 'shop', token);
  expect((await append(a, 'shop', 'cart-9', ['Opened'], 'no_stream')).result).toMatchObject({ version: 1 });
  await expect.poll(async () => shape(await log(b, 'shop'))).toEqual(shape(await log(a, 'shop')));

  await deviceA.setOffline(true);
  // Both decide on version 1 of cart-9; A also writes a stream of its own, B too.
  expect((await append(a, 'shop', 'cart-9', ['FromA'], 1)).result).toMatchObject({ version: 2 });
  expect((await append(a, 'shop', 'note-a', ['NoteA'], 'no_stream')).result).toMatchObject({ version: 1 });
  expect((await append(b, 'shop', 'cart-9', ['FromB'], 1)).result).toMatchObject({ version: 2 });
  expect((await append(b, 'shop', 'note-b', ['NoteB'])).result).toMatchObject({ version: 1 });
  await expect.poll(async () => (await sync.events(token)).map((e) => `${e.stream}@${e.version}:${e.type}`)).toEqual([
    'cart-9@1:Opened',
    'cart-9@2:FromB',
    'note-b@1:NoteB',
  ]);
  // A cannot reach the server: it says so, and keeps both appends pending, unconfirmed.
  await expect.poll(async () => (await status(a, 'shop')).state).toBe('offline');
  expect(await status(a, 'shop')).toMatchObject({ pending: 2, error: { code: 'SYNC_UNAVAILABLE' } });
  expect((await log(a, 'shop')).filter((e) => e.serverPosition === null).map((e) => `${e.stream}@${e.version}:${e.type}`)).toEqual([
    'cart-9@2:FromA',
    'note-a@1:NoteA',
  ]);
  const offlineNow = await a.evaluate(() => window.syncTest.now('shop'));
  expect(offlineNow).toMatchObject({ code: 'SYNC_UNAVAILABLE', isCairnError: true });

  await deviceA.setOffline(false);
  // Back online, A syncs by itself: the server's cart-9 wins, A's write to it is a conflict
  // of that stream only, shown to the app through onConflict; note-a goes through. At once:
  // the page passes its `online` event to the worker, which hears none of its own (without
  // that, the retry waited for its backoff, 8-16 s here).
  await expect.poll(async () => (await a.evaluate(() => window.syncTest.conflictsSeen('shop'))).flat().length, { timeout: 5_000 }).toBe(1);
  const [seen] = (await a.evaluate(() => window.syncTest.conflictsSeen('shop'))).flat();
  expect(seen).toMatchObject({
    stream: 'cart-9',
    expectedVersion: 1,
    serverVersion: 2,
    events: [{ type: 'FromA' }],
    serverEvents: [{ stream: 'cart-9', version: 2, type: 'FromB' }],
  });
  const listed = await a.evaluate(() => window.syncTest.conflicts('shop'));
  expect(listed.map((c) => [c.id, c.stream, c.events.map((e) => e.id)])).toEqual([[seen!.id, 'cart-9', seen!.events.map((e) => e.id)]]);
  await settled(a, 'shop');
  // onStatus told the app each step: offline while cut off, idle once caught up.
  const told = await a.evaluate(() => window.syncTest.states('shop'));
  expect(told).toContain('offline');
  expect(told.slice(told.lastIndexOf('offline'))).toContain('idle');
  const converged = ['cart-9@1:Opened', 'cart-9@2:FromB', 'note-a@1:NoteA', 'note-b@1:NoteB'];
  const typed = (events: Logged) => events.map((e) => `${e.stream}@${e.version}:${e.type}`);
  expect(typed(await log(a, 'shop'))).toEqual(converged);
  await expect.poll(async () => typed(await log(b, 'shop'))).toEqual(converged);
  expect(shape(await log(a, 'shop'))).toEqual(await serverShape(sync, token));

  // The app resolves it: A's event again, after the server's.
  const resolved = await a.evaluate((id) => window.syncTest.resolve('shop', id, 'rebase'), seen!.id);
  expect(resolved.error).toBeNull();
  expect(resolved.results).toMatchObject([{ stream: 'cart-9', version: 3 }]);
  expect(await a.evaluate(() => window.syncTest.conflicts('shop'))).toEqual([]);
  const final = [...converged.slice(0, 2), 'cart-9@3:FromA', ...converged.slice(2)];
  await expect.poll(async () => typed(await log(b, 'shop'))).toEqual(final);
  await settled(a, 'shop');
  expect(typed(await log(a, 'shop'))).toEqual(final);
  const server = await serverShape(sync, token);
  expect(shape(await log(a, 'shop'))).toEqual(server);
  expect(shape(await log(b, 'shop'))).toEqual(server);
  // The rebased event is the one A wrote, not a copy: the same id, once.
  expect(server.filter((e) => e.endsWith(`:${seen!.events[0]!.id}`))).toEqual([`cart-9@3:FromA:${seen!.events[0]!.id}`]);
  // B never had a conflict.
  expect(await b.evaluate(() => window.syncTest.conflictsSeen('shop'))).toEqual([]);
});

test('a device reloaded offline keeps its pending appends, and pushes each once when back online', async ({ launchDevice, sync, harnessUrl }) => {
  const token = sync.newToken();
  const [deviceA, deviceB] = [await launchDevice(), await launchDevice()];
  const a = await deviceA.newPage();
  const b = await deviceB.newPage();
  await openDevice(a, harnessUrl, sync, 'shop', token);
  await openDevice(b, harnessUrl, sync, 'shop', token);
  await settled(a, 'shop');

  await deviceA.setOffline(true);
  const written: string[] = [];
  for (const [stream, types] of [['cart-1', ['A', 'B']], ['cart-2', ['C']], ['cart-1', ['D']]] as const) {
    const { result, error } = await append(a, 'shop', stream, [...types]);
    expect(error).toBeNull();
    written.push(...result!.ids);
  }
  await expect.poll(async () => status(a, 'shop')).toMatchObject({ state: 'offline', pending: 3 });

  // The reload: the app's files must load (this app has no service worker to serve them
  // offline: the page, the worker and sqlite3.wasm), the sync server must stay out of
  // reach. While the page reloads and opens its store, every request to the sync server
  // fails as it does offline; then the device is offline again.
  const cutOff = `${sync.url}/**`;
  await deviceA.route(cutOff, (route) => route.abort('internetdisconnected'));
  await deviceA.setOffline(false);
  await a.reload();
  await openDevice(a, harnessUrl, sync, 'shop', token);
  await deviceA.setOffline(true);
  await deviceA.unroute(cutOff);
  await expect.poll(async () => status(a, 'shop')).toMatchObject({ state: 'offline', pending: 3, error: { code: 'SYNC_UNAVAILABLE' } });
  const kept = await log(a, 'shop');
  expect(kept.map((e) => [e.id, e.serverPosition])).toEqual([
    [written[0], null],
    [written[1], null],
    [written[3], null],
    [written[2], null],
  ]);
  expect(await sync.events(token)).toEqual([]);

  await deviceA.setOffline(false);
  await settled(a, 'shop');
  const server = await sync.events(token);
  // Each pushed once: the server holds the four ids, once each, at the versions A gave them.
  expect(server.map((e) => e.id).sort()).toEqual([...written].sort());
  expect(server.map((e) => `${e.stream}@${e.version}:${e.type}`).sort()).toEqual(['cart-1@1:A', 'cart-1@2:B', 'cart-1@3:D', 'cart-2@1:C']);
  expect(shape(await log(a, 'shop'))).toEqual(await serverShape(sync, token));
  await expect.poll(async () => shape(await log(b, 'shop'))).toEqual(await serverShape(sync, token));
  expect((await log(a, 'shop')).every((e) => typeof e.serverPosition === 'number')).toBe(true);
});

for (const end of ['crashes', 'is closed'] as const) {
  test(`the leader tab ${end} while it pushes many pending events: the next leader finishes the push, nothing lost, nothing twice`, async ({
    launchDevice,
    sync,
    harnessUrl,
  }) => {
    const token = sync.newToken();
    const [deviceA, deviceB] = [await launchDevice(), await launchDevice()];
    const a1 = await deviceA.newPage();
    const a2 = await deviceA.newPage();
    const b = await deviceB.newPage();
    expect(await openDevice(a1, harnessUrl, sync, 'shop', token)).toMatchObject({ role: 'leader' });
    expect(await openDevice(a2, harnessUrl, sync, 'shop', token)).toMatchObject({ role: 'follower' });
    await openDevice(b, harnessUrl, sync, 'shop', token);
    await settled(a1, 'shop');

    // 1,500 appends made offline: more than one push takes (500 appends each).
    const COUNT = 1500;
    await deviceA.setOffline(true);
    const ids = await a1.evaluate((n) => window.syncTest.appendMany('shop', 'bulk-1', n), COUNT);
    expect(new Set(ids).size).toBe(COUNT);
    await expect.poll(async () => status(a1, 'shop')).toMatchObject({ state: 'offline', pending: COUNT });

    // Back online, the leader pushes. The server stores its first push, and its answer is
    // held: the leader tab goes (its renderer crashed, or the tab closed) before it hears that
    // the push went through.
    const hold = sync.holdPushReplies();
    await deviceA.setOffline(false);
    await hold.stored;
    const storedBeforeCrash = (await sync.events(token)).length;
    expect(storedBeforeCrash).toBeGreaterThan(0);
    expect(storedBeforeCrash).toBeLessThan(COUNT);
    const pushesAtCrash = sync.pushes();
    if (end === 'crashes') {
      const cdp = await deviceA.newCDPSession(a1);
      void cdp.send('Page.crash').catch(() => {});
      await a1.waitForEvent('crash', { timeout: 10_000 });
    } else {
      await a1.close();
    }
    hold.release();

    // The other tab leads now; its worker's runner takes over the outbox.
    await expect.poll(() => a2.evaluate(() => window.syncTest.role('shop'))).toBe('leader');
    await settled(a2, 'shop');
    // The new leader pushed the rest itself. The part the server had stored (whose answer the
    // old leader never heard) came back in its first pull, which confirmed those events by id.
    expect(sync.pushes()).toBeGreaterThan(pushesAtCrash);
    const server = await sync.events(token);
    expect(server).toHaveLength(COUNT);
    expect(server.map((e) => e.id).sort()).toEqual([...ids].sort());
    expect(server.map((e) => e.version)).toEqual(Array.from({ length: COUNT }, (_, i) => i + 1));
    const onA = await log(a2, 'shop');
    expect(shape(onA)).toEqual(await serverShape(sync, token));
    expect(onA.every((e) => typeof e.serverPosition === 'number')).toBe(true);
    await expect.poll(async () => (await log(b, 'shop')).length, { timeout: 60_000 }).toBe(COUNT);
    expect(shape(await log(b, 'shop'))).toEqual(shape(onA));
    expect(sync.log.filter((l) => l.startsWith('error'))).toEqual([]);
  });
}
