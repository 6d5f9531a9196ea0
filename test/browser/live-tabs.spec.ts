/**
 * Live features across tabs, in one Chromium profile on OPFS: subscriptions fed by other
 * tabs' commits and carried through a leader handover, a durable consumer moving between
 * two open tabs, a watch in a follower tab, and projection progress reaching a follower
 * during a rebuild.
 */
import type { Page } from '@playwright/test';
import type { LoggedEvent } from './app/tabs.ts';
import type { ProjectionSetName } from '../contract/test-projections.ts';
import { expect, test } from '../fixtures.ts';

test.describe.configure({ timeout: 120_000 });
let n = 0;

/** A fresh store name per test (each test has a browser and profile of its own, too). */
const storeName = (what: string): string => `live-tabs-${what}-${n++}-${Date.now()}`;

async function openTab(openPage: () => Promise<Page>, store: string, projectionSet?: ProjectionSetName): Promise<Page> {
  const page = await openPage();
  const options = projectionSet === undefined ? {} : { projectionSet };
  const info = await page.evaluate(([s, o]) => window.cairnTabs.open(s, o), [store, options] as const);
  expect(info.storage).toBe('opfs');
  return page;
}

async function closeAll(pages: Page[]): Promise<void> {
  await Promise.all(pages.map((p) => p.close().catch(() => {})));
}

/**
 * Polls `read` until `check` accepts what it returned, and returns that. After `timeout` ms
 * it returns the last value anyway, for the assertions that follow to show what was wrong.
 */
async function until<T>(read: () => Promise<T>, check: (value: T) => boolean, timeout = 30_000): Promise<T> {
  const deadline = Date.now() + timeout;
  for (;;) {
    const value = await read();
    if (check(value) || Date.now() > deadline) return value;
    await new Promise((r) => setTimeout(r, 20));
  }
}

const positions = (log: LoggedEvent[]) => log.map((e) => e.position);
const range = (from: number, to: number) => Array.from({ length: to - from + 1 }, (_, i) => from + i);

test.describe('subscriptions across tabs', () => {
  test("sees every tab's events once, in global order, while both tabs append during its catch-up", async ({ openPage }) => {
    const store = storeName('sub');
    const a = await openTab(openPage, store);
    const b = await openTab(openPage, store);
    try {
      expect(await b.evaluate((s) => window.cairnTabs.role(s), store)).toBe('follower');
      const backlog = await a.evaluate((s) => window.cairnTabs.fill(s, 1500, 50), store);
      expect(backlog).toBe(1500);
      // Both tabs keep appending while tab B's subscriptions catch up on the backlog.
      await a.evaluate((s) => window.cairnTabs.startLoop(s, 'a', ['acct-1', 'acct-2', 'other-1'], 2), store);
      await b.evaluate((s) => window.cairnTabs.startLoop(s, 'b', ['acct-2', 'acct-3', 'other-2'], 2), store);
      await b.evaluate(
        ([s, head]) => {
          window.cairnLive.subscribe(s, 'all', {}, { batchSize: 50, probeAt: head });
          window.cairnLive.subscribe(s, 'acct', { category: 'acct' }, { batchSize: 20 });
          window.cairnLive.subscribe(s, 'after-700', {}, { from: 700, batchSize: 64 });
        },
        [store, backlog] as const,
      );
      const probed = await until(
        () => b.evaluate(() => window.cairnLive.subscribed('all')),
        (r) => r.headAtProbe !== undefined,
      );
      // Appends committed while the subscription was still reading the backlog.
      expect(probed.headAtProbe).toBeGreaterThan(backlog);
      const [reportA, reportB] = await Promise.all([a, b].map((p) => p.evaluate(() => window.cairnTabs.stopLoop())));
      expect(reportA!.errors).toEqual([]);
      expect(reportB!.errors).toEqual([]);
      // One more event, after every other: once it arrives, anything extra would have too.
      const last = await a.evaluate((s) => window.cairnLive.append(s, 'acct-9', 'Last'), store);
      const subs = await until(
        () => b.evaluate(() => ['all', 'acct', 'after-700'].map((k) => window.cairnLive.subscribed(k))),
        (rs) => rs.every((r) => r.positions.at(-1) === last || r.error !== undefined),
      );
      const log = await b.evaluate((s) => window.cairnTabs.readAll(s), store);
      expect(positions(log)).toEqual(range(1, last));
      expect(log.filter((e) => e.tag === 'a').length).toBeGreaterThan(0);
      expect(log.filter((e) => e.tag === 'b').length).toBeGreaterThan(0);
      const [all, acct, after700] = subs as [(typeof subs)[0], (typeof subs)[0], (typeof subs)[0]];
      for (const r of subs) expect(r.error).toBeUndefined();
      expect(all.positions).toEqual(positions(log));
      expect(all.ids).toEqual(log.map((e) => e.id));
      const acctLog = log.filter((e) => e.stream.startsWith('acct-'));
      expect(acct.positions).toEqual(positions(acctLog));
      expect(acct.ids).toEqual(acctLog.map((e) => e.id));
      expect(after700.positions).toEqual(range(701, last));
    } finally {
      await closeAll([a, b]);
    }
  });

  const ends: Record<string, (leader: Page) => Promise<void>> = {
    'the leader tab is closed': (leader) => leader.close(),
    "the leader tab's renderer crashes": async (leader) => {
      const cdp = await leader.context().newCDPSession(leader);
      // Never answers: the renderer is gone.
      void cdp.send('Page.crash').catch(() => {});
      await leader.waitForEvent('crash', { timeout: 10_000 });
    },
  };

  for (const end of Object.keys(ends)) {
    test(`keeps delivering in follower tabs, without gap or duplicate, when ${end} mid-stream`, async ({ openPage }) => {
      const store = storeName('handover');
      const a = await openTab(openPage, store);
      const b = await openTab(openPage, store);
      const c = await openTab(openPage, store);
      try {
        expect(await a.evaluate((s) => window.cairnTabs.role(s), store)).toBe('leader');
        await a.evaluate((s) => window.cairnTabs.fill(s, 200, 20), store);
        for (const p of [b, c]) {
          await p.evaluate((s) => window.cairnLive.subscribe(s, 'all', {}, { batchSize: 25 }), store);
        }
        for (const [i, p] of [a, b, c].entries()) {
          await p.evaluate(
            ([s, tag]) => window.cairnTabs.startLoop(s, tag, ['acct-1', 'acct-2', 'acct-3'], 2),
            [store, `t${i}`] as const,
          );
        }
        // Mid-stream: both subscriptions are live and the loops are running.
        for (const p of [b, c]) {
          expect(await until(() => p.evaluate(() => window.cairnLive.subscribed('all').positions.length), (len) => len > 250)).toBeGreaterThan(250);
        }
        await ends[end]!(a);
        // The survivors keep appending through the handover and after it.
        const ackedAtClose = await b.evaluate(() => window.cairnTabs.ackedSoFar().length);
        expect(await until(() => b.evaluate(() => window.cairnTabs.ackedSoFar().length), (len) => len > ackedAtClose + 50)).toBeGreaterThan(ackedAtClose + 50);
        const reports = await Promise.all([b, c].map((p) => p.evaluate(() => window.cairnTabs.stopLoop())));
        for (const r of reports) expect(r.errors).toEqual([]);
        const roles = await Promise.all([b, c].map((p) => p.evaluate((s) => window.cairnTabs.role(s), store)));
        expect(roles.sort()).toEqual(['follower', 'leader']);
        const last = await c.evaluate((s) => window.cairnLive.append(s, 'acct-9', 'Last'), store);
        const log = await b.evaluate((s) => window.cairnTabs.readAll(s), store);
        expect(positions(log)).toEqual(range(1, last));
        for (const p of [b, c]) {
          const r = await until(
            () => p.evaluate(() => window.cairnLive.subscribed('all')),
            (x) => x.positions.at(-1) === last || x.error !== undefined,
          );
          expect(r.error).toBeUndefined();
          expect(r.positions).toEqual(positions(log));
          expect(r.ids).toEqual(log.map((e) => e.id));
        }
      } finally {
        await closeAll([a, b, c]);
      }
    });
  }
});

test.describe('a durable consumer open in two tabs', () => {
  /**
   * Starts consumer `mailer` in both tabs, the handler in each never finishing event 15;
   * returns the tab whose instance runs and the one whose instance waits.
   */
  type Start = (leader: Page, follower: Page, store: string) => Promise<[running: Page, waiting: Page]>;
  const inTurn =
    (first: 'leader' | 'follower'): Start =>
    async (leader, follower, store) => {
      const [running, waiting] = first === 'leader' ? [leader, follower] : [follower, leader];
      await running.evaluate((s) => window.cairnLive.startConsumer(s, 'mailer', 15), store);
      await until(() => running.evaluate(() => window.cairnLive.consumer('mailer').state), (s) => s === 'running');
      await waiting.evaluate((s) => window.cairnLive.startConsumer(s, 'mailer', 15), store);
      return [running, waiting];
    };
  const starts: Record<string, Start> = {
    'the leader, started first': inTurn('leader'),
    'the follower, started first': inTurn('follower'),
    'whichever won, both started at once': async (leader, follower, store) => {
      const start = (p: Page) => p.evaluate((s) => window.cairnLive.startConsumer(s, 'mailer', 15), store);
      await Promise.all([start(leader), start(follower)]);
      const hungIn = (p: Page) => p.evaluate(() => window.cairnLive.consumer('mailer').started.includes(15));
      const winner = await until(
        async () => ((await hungIn(leader)) ? leader : (await hungIn(follower)) ? follower : undefined),
        (tab) => tab !== undefined,
      );
      return winner === leader ? [leader, follower] : [follower, leader];
    },
  };

  for (const how of Object.keys(starts)) {
    test(`runs in one tab only; when that tab (${how}) closes with a handler in hand, the other resumes from the checkpoint`, async ({ openPage }) => {
      const store = storeName('consumer');
      const leader = await openTab(openPage, store);
      const follower = await openTab(openPage, store);
      try {
        for (let i = 0; i < 20; i++) await leader.evaluate((s) => window.cairnLive.append(s, 'job-1', 'Job'), store);
        const [running, waiting] = await starts[how]!(leader, follower, store);
        // The running instance works up to the event its handler never finishes.
        const hung = await until(
          () => running.evaluate(() => window.cairnLive.consumer('mailer')),
          (r) => r.started.includes(15),
        );
        expect(hung.state).toBe('running');
        expect(hung.finished).toEqual(range(1, 14));
        expect(hung.started).toEqual(range(1, 15));
        const [checkpoint] = await waiting.evaluate((s) => window.cairnLive.consumers(s), store);
        expect(checkpoint).toMatchObject({ name: 'mailer', position: 14, lag: 6 });
        // All the while, the other instance waited without handling anything.
        expect(await waiting.evaluate(() => window.cairnLive.consumer('mailer'))).toMatchObject({
          state: 'waiting',
          started: [],
        });
        // Its handler will finish event 15.
        await waiting.evaluate(() => window.cairnLive.hangConsumerAt('mailer', undefined));

        await running.close();
        for (let i = 0; i < 5; i++) await waiting.evaluate((s) => window.cairnLive.append(s, 'job-1', 'Job'), store);
        const took = await until(
          () => waiting.evaluate(() => window.cairnLive.consumer('mailer')),
          (r) => r.finished.includes(25) || r.error !== undefined,
        );
        expect(took.error).toBeUndefined();
        expect(took.state).toBe('running');
        // Event 15's handler had not finished when its tab closed: the only one delivered twice.
        expect(took.started).toEqual(range(15, 25));
        expect(took.finished).toEqual(range(15, 25));
        expect([...hung.finished, ...took.finished]).toEqual(range(1, 25));
        const info = await until(
          () => waiting.evaluate((s) => window.cairnLive.consumers(s), store),
          ([c]) => c?.position === 25,
        );
        expect(info).toEqual([expect.objectContaining({ name: 'mailer', position: 25, lag: 0, deadLetters: 0 })]);
      } finally {
        await closeAll([leader, follower]);
      }
    });
  }
});

test.describe('projections across tabs', () => {
  const CARTS = 'SELECT id, items, qty FROM cart_totals ORDER BY id';

  test("a follower tab's watch runs after another tab's relevant commit, and not after an irrelevant one", async ({ openPage }) => {
    const store = storeName('watch');
    const a = await openTab(openPage, store, 'shop-v1');
    const b = await openTab(openPage, store, 'shop-v1');
    const c = await openTab(openPage, store, 'shop-v1');
    try {
      expect(await b.evaluate((s) => window.cairnTabs.role(s), store)).toBe('follower');
      await b.evaluate(
        ([s, carts]) => {
          window.cairnLive.watch(s, 'carts', carts);
          window.cairnLive.watch(s, 'types', 'SELECT type, n FROM type_counts ORDER BY type');
        },
        [store, CARTS] as const,
      );
      const watched = () =>
        b.evaluate(() => ({ carts: window.cairnLive.watched('carts'), types: window.cairnLive.watched('types') }));
      await until(watched, (w) => w.carts.length === 1 && w.types.length === 1);
      // Relevant to both, committed by the leader's tab.
      await a.evaluate((s) => window.cairnLive.append(s, 'cart-1', 'ItemAdded', { qty: 2 }), store);
      await until(watched, (w) => w.carts.length === 2 && w.types.length === 2);
      // Committed by the other follower: it writes type_counts, not cart_totals. Once the
      // type_counts watch has run, tab B's page has had the commit's notice.
      await c.evaluate((s) => window.cairnLive.append(s, 'note-1', 'Note'), store);
      await until(watched, (w) => w.types.length === 3);
      // Relevant again: had the note woken the cart watch, its extra call would come before this one.
      await c.evaluate((s) => window.cairnLive.append(s, 'cart-2', 'ItemAdded', { qty: 3 }), store);
      const w = await until(watched, (x) => x.types.length === 4 && x.carts.some((rows) => rows.length === 2));
      expect(w.carts).toEqual([
        [],
        [{ id: 'cart-1', items: 1, qty: 2 }],
        [
          { id: 'cart-1', items: 1, qty: 2 },
          { id: 'cart-2', items: 1, qty: 3 },
        ],
      ]);
      expect(w.types.at(-1)).toEqual([
        { type: 'ItemAdded', n: 2 },
        { type: 'Note', n: 1 },
      ]);
    } finally {
      await closeAll([a, b, c]);
    }
  });

  test('a follower tab hears the progress of a rebuild run by a new leader with a bumped projection version', async ({ openPage }) => {
    const store = storeName('rebuild');
    const a = await openTab(openPage, store, 'shop-v1');
    const pages = [a];
    try {
      expect(await a.evaluate((s) => window.cairnLive.addItems(s, 300, 10), store)).toBe(300);
      const before = await a.evaluate(([s, sql]) => window.cairnLive.query(s, sql), [store, CARTS] as const);
      expect(before).toHaveLength(5);
      // Tab B queues for the lock first, so it leads next: its worker has cart_totals v2.
      const b = await openTab(openPage, store, 'shop-v2');
      const c = await openTab(openPage, store, 'shop-v1');
      pages.push(b, c);
      await c.evaluate(
        ([s, carts]) => {
          window.cairnLive.recordProgress(s);
          window.cairnLive.watch(s, 'carts', carts);
        },
        [store, CARTS] as const,
      );
      await until(() => c.evaluate(() => window.cairnLive.watched('carts')), (calls) => calls.length === 1);
      await a.close();
      await until(() => b.evaluate((s) => window.cairnTabs.role(s), store), (role) => role === 'leader');
      const progress = await until(
        () => c.evaluate((s) => window.cairnLive.progress(s), store),
        (ps) => ps.some((p) => p.name === 'cart_totals' && p.state !== 'building'),
      );
      const carts = progress.filter((p) => p.name === 'cart_totals');
      expect(carts.every((p) => p.version === 2 && p.head === 300)).toBe(true);
      expect(carts.at(-1)).toMatchObject({ state: 'ready', position: 300 });
      // Reported batch by batch (7 events each in the test workers), in order, none lost.
      const building = carts.filter((p) => p.state === 'building').map((p) => p.position);
      expect(building).toEqual(Array.from({ length: 42 }, (_, i) => 7 * (i + 1)));
      // The read model built by the new leader, read from the follower, is the one the old leader kept.
      expect(await c.evaluate(([s, sql]) => window.cairnLive.query(s, sql), [store, CARTS] as const)).toEqual(before);
      // The follower's watch of the rebuilt table ends on the rebuilt rows.
      const watched = await until(
        () => c.evaluate(() => window.cairnLive.watched('carts')),
        (calls) => JSON.stringify(calls.at(-1)) === JSON.stringify(before),
      );
      expect(watched.at(-1)).toEqual(before);
      const status = await c.evaluate((s) => window.cairnLive.projections(s), store);
      expect(status.map((p) => [p.name, p.version, p.state])).toEqual([
        ['cart_totals', 2, 'ready'],
        ['type_counts', 1, 'ready'],
      ]);
    } finally {
      await closeAll(pages);
    }
  });
});
