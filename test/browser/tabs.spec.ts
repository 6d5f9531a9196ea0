/**
 * Many tabs on one store, in one Chromium profile: election, forwarding, handover under
 * load (leader closed, leader tab closed, leader renderer crashed), reads through the
 * leader, reply routing, and NO_LEADER.
 */
import type { Page } from '@playwright/test';
import type { Ack, LoggedEvent, LoopReport } from './app/tabs.ts';
import { expect, test } from '../fixtures.ts';

test.describe.configure({ timeout: 120_000 });

/** `expect.poll`'s timing as these tests were written for: every 50 ms, for a second. */
const POLL = { timeout: 1_000, intervals: [50] };
let n = 0;

/** A fresh store name per test (each test has a browser and profile of its own, too). */
const storeName = (what: string): string => `tabs-${what}-${n++}-${Date.now()}`;

interface Tab {
  page: Page;
  role: string;
}

async function openTab(openPage: () => Promise<Page>, store: string, options: { leaderTimeout?: number } = {}): Promise<Tab> {
  const page = await openPage();
  const info = await page.evaluate(([s, o]) => window.cairnTabs.open(s, o), [store, options] as const);
  expect(info.storage).toBe('opfs');
  return { page, role: info.role };
}

async function closeAll(tabs: Tab[]): Promise<void> {
  await Promise.all(tabs.map((t) => t.page.close().catch(() => {})));
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** The sqlite-wasm files this page's workers fetched (a follower must fetch none). */
async function sqliteLoads(page: Page): Promise<string[]> {
  const names = await Promise.all(
    page.workers().map((w) => w.evaluate(() => performance.getEntriesByType('resource').map((e) => e.name))),
  );
  return names.flat().filter((url) => /sqlite3/.test(url));
}

/** Checks the log is one clean history: ids unique, each stream's versions exactly 1..n. */
function expectCleanLog(log: LoggedEvent[]): void {
  expect(new Set(log.map((e) => e.id)).size).toBe(log.length);
  const byStream = new Map<string, number[]>();
  for (const e of log) byStream.set(e.stream, [...(byStream.get(e.stream) ?? []), e.version]);
  for (const [stream, versions] of byStream) {
    expect(versions, stream).toEqual(versions.map((_, i) => i + 1));
  }
  // One event per loop step: a re-sent append that wrote twice would repeat a (tag, seq).
  const keys = log.filter((e) => e.tag !== '').map((e) => `${e.tag}/${e.seq}`);
  expect(new Set(keys).size).toBe(keys.length);
}

/** Every acknowledged event is in the log, at the version and position it was acknowledged with. */
function expectAcked(log: LoggedEvent[], acked: Ack[]): void {
  const byId = new Map(log.map((e) => [e.id, e]));
  const missing = acked.filter((a) => {
    const e = byId.get(a.id);
    return e === undefined || e.version !== a.version || e.position !== a.position || e.stream !== a.stream;
  });
  expect(missing).toEqual([]);
}

test.describe('many tabs', () => {
  test('elects one leader; followers forward every call and never load SQLite', async ({ openPage }) => {
    const store = storeName('elect');
    const tabs = [await openTab(openPage, store), await openTab(openPage, store), await openTab(openPage, store)];
    try {
      expect(tabs.map((t) => t.role)).toEqual(['leader', 'follower', 'follower']);
      // A follower's append, its read of the leader's data, and a commit notice round trip.
      await tabs[0]!.page.evaluate((s) => window.cairnTabs.burst(s, 'a', ['x-1'], 3), store);
      const r = await tabs[1]!.page.evaluate((s) => window.cairnTabs.burst(s, 'b', ['x-1'], 2), store);
      expect(r.errors).toEqual([]);
      const log = await tabs[2]!.page.evaluate((s) => window.cairnTabs.readAll(s), store);
      expect(log.map((e) => e.version)).toEqual([1, 2, 3, 4, 5]);
      // Every tab's page hears of every commit, whichever tab made it.
      for (const tab of tabs) {
        await expect
          .poll(async () => {
            const seen = await tab.page.evaluate((s) => window.cairnTabs.pushes(s), store);
            const commits = seen.filter((p) => p.push === 'commit').map((p) => p.data as { head: number; streams: string[]; types: string[] });
            return {
              head: Math.max(0, ...commits.map((c) => c.head)),
              streams: [...new Set(commits.flatMap((c) => c.streams))],
              types: [...new Set(commits.flatMap((c) => c.types))],
            };
          }, POLL)
          .toEqual({ head: 5, streams: ['x-1'], types: ['Tick'] });
      }
      expect(await sqliteLoads(tabs[0]!.page)).not.toEqual([]);
      expect(await sqliteLoads(tabs[1]!.page)).toEqual([]);
      expect(await sqliteLoads(tabs[2]!.page)).toEqual([]);
    } finally {
      await closeAll(tabs);
    }
  });

  test('three tabs appending to the same streams at once: every event once, versions 1..n', async ({ openPage }) => {
    const store = storeName('concurrent');
    const tabs = [await openTab(openPage, store), await openTab(openPage, store), await openTab(openPage, store)];
    try {
      const streams = ['cart-1', 'cart-2', 'cart-3'];
      const reports = await Promise.all(
        tabs.map((t, i) =>
          t.page.evaluate(([s, tag, st]) => window.cairnTabs.burst(s, tag, st, 200), [store, `t${i}`, streams] as const),
        ),
      );
      for (const r of reports) expect(r.errors).toEqual([]);
      const log = await tabs[1]!.page.evaluate((s) => window.cairnTabs.readAll(s), store);
      expect(log).toHaveLength(600);
      expectCleanLog(log);
      expectAcked(log, reports.flatMap((r) => r.acked));
      const acked = reports.flatMap((r) => r.acked);
      for (const stream of streams) {
        expect(log.filter((e) => e.stream === stream).length).toBe(acked.filter((a) => a.stream === stream).length);
      }
    } finally {
      await closeAll(tabs);
    }
  });

  test.describe('failover under load: three tabs loop appends, the leader goes mid-way', () => {
    const streams = ['acct-1', 'acct-2', 'acct-3', 'acct-4'];

    /** Runs the loops, ends the leader with `end`, and checks what the survivors saw. */
    async function failover(openPage: () => Promise<Page>, what: string, end: (leader: Page, store: string) => Promise<LoopReport | Ack[]>) {
      const store = storeName(what);
      const tabs = [await openTab(openPage, store), await openTab(openPage, store), await openTab(openPage, store)];
      try {
        const [leader, ...survivors] = tabs as [Tab, Tab, Tab];
        expect(leader.role).toBe('leader');
        await Promise.all(
          tabs.map((t, i) =>
            t.page.evaluate(([s, tag, st]) => window.cairnTabs.startLoop(s, tag, st, 3), [store, `t${i}`, streams] as const),
          ),
        );
        await sleep(1200);
        const before = await Promise.all(survivors.map((t) => t.page.evaluate(() => window.cairnTabs.ackedSoFar().length)));
        const ended = await end(leader.page, store);
        const leaderAcked = Array.isArray(ended) ? ended : ended.acked;
        // The survivors keep appending through the handover and after it.
        await sleep(2500);
        const reports = await Promise.all(survivors.map((t) => t.page.evaluate(() => window.cairnTabs.stopLoop())));
        const roles = await Promise.all(survivors.map((t) => t.page.evaluate((s) => window.cairnTabs.role(s), store)));
        const changes = await Promise.all(
          survivors.map((t) => t.page.evaluate((s) => window.cairnTabs.roleChanges(s), store)),
        );
        expect(roles.filter((r) => r === 'leader')).toHaveLength(1);
        // Both survivors' pages were told a new leader serves (a cue to catch up on
        // commit notices the old leader may not have sent), and the new leader's commits.
        for (const t of survivors) {
          const seen = await t.page.evaluate((s) => window.cairnTabs.pushes(s), store);
          expect(seen.filter((p) => p.push === 'leader')).toHaveLength(1);
          expect(seen.filter((p) => p.push === 'commit').length).toBeGreaterThan(0);
        }
        // The tab that took over was told once; the other was never told anything.
        expect(changes.flat()).toEqual(['leader']);

        for (const [i, r] of reports.entries()) {
          expect(r.errors, `tab ${i + 1}`).toEqual([]);
          expect(r.acked.length, `tab ${i + 1} kept going`).toBeGreaterThan(before[i]! + 20);
        }
        const log = await survivors[0].page.evaluate((s) => window.cairnTabs.readAll(s), store);
        expectCleanLog(log);
        expectAcked(log, [...leaderAcked, ...reports.flatMap((r) => r.acked)]);
        // A survivor's events in the log are exactly the ones it was told of: nothing
        // written twice by a re-send, nothing written that it was told had failed.
        for (const [i, r] of reports.entries()) {
          const tag = `t${i + 1}`;
          expect(log.filter((e) => e.tag === tag).map((e) => e.id).sort()).toEqual(r.acked.map((a) => a.id).sort());
        }
        return { log, reports };
      } finally {
        await closeAll(tabs);
      }
    }

    test('the leader calls close(): its queued writes commit, then a follower takes over', async ({ openPage }) => {
      await failover(openPage, 'close', async (leader, store) => {
        const report = await leader.evaluate((s) => window.cairnTabs.closeDuringLoop(s), store);
        expect(report.errors).toEqual([]);
        expect(report.acked.length).toBeGreaterThan(20);
        return report;
      });
    });

    test('the leader tab is closed', async ({ openPage }) => {
      await failover(openPage, 'tab-closed', async (leader) => {
        const acked = await leader.evaluate(() => window.cairnTabs.ackedSoFar());
        await leader.close();
        return acked;
      });
    });

    test("the leader's worker stops: followers take over, and the leader tab starts a new worker whose calls go on", async ({ openPage }) => {
      await failover(openPage, 'worker-stops', async (leader) => {
        const acked = await leader.evaluate(() => window.cairnTabs.ackedSoFar().length);
        const [worker] = leader.workers();
        // Gone without an error event, as when the worker is terminated or killed.
        void worker!.evaluate(() => (globalThis as unknown as { close(): void }).close()).catch(() => {});
        // The tab's calls were held and re-sent to its new worker: its lanes keep going, none fails.
        await expect.poll(() => leader.evaluate(() => window.cairnTabs.ackedSoFar().length), { ...POLL, timeout: 10_000 }).toBeGreaterThan(acked + 20);
        const own = await leader.evaluate(() => window.cairnTabs.stopLoop());
        expect(own.errors).toEqual([]);
        return own;
      });
    });

    test("the leader's renderer crashes", async ({ openPage }) => {
      await failover(openPage, 'crash', async (leader) => {
        const acked = await leader.evaluate(() => window.cairnTabs.ackedSoFar());
        const cdp = await leader.context().newCDPSession(leader);
        // Never answers: the renderer is gone.
        void cdp.send('Page.crash').catch(() => {});
        await leader.waitForEvent('crash', { timeout: 10_000 });
        return acked;
      });
    });
  });

  test('a tab opened after 10,000 events exist reads them all through the leader', async ({ openPage }) => {
    const store = storeName('late');
    const leader = await openTab(openPage, store);
    try {
      const head = await leader.page.evaluate((s) => window.cairnTabs.fill(s, 10_000, 250), store);
      expect(head).toBe(10_000);
      const late = await openTab(openPage, store);
      try {
        expect(late.role).toBe('follower');
        const log = await late.page.evaluate((s) => window.cairnTabs.readAll(s), store);
        expect(log).toHaveLength(10_000);
        expect(log.map((e) => e.position)).toEqual(Array.from({ length: 10_000 }, (_, i) => i + 1));
        expect(log.map((e) => e.seq)).toEqual(Array.from({ length: 10_000 }, (_, i) => i));
      } finally {
        await late.page.close();
      }
    } finally {
      await leader.page.close();
    }
  });

  test('never delivers a reply to the wrong tab, though two tabs use the same request ids', async ({ openPage }) => {
    const store = storeName('replies');
    const tabs = [await openTab(openPage, store), await openTab(openPage, store), await openTab(openPage, store)];
    try {
      const [, a, b] = tabs as [Tab, Tab, Tab];
      // Each follower's worker numbers its forwarded calls from 1, so the two tabs' calls
      // below carry the same ids, in the same order, at the same time.
      const aStreams = ['mine-a1', 'mine-a2'];
      const bStreams = ['mine-b1', 'mine-b2'];
      await Promise.all([
        a.page.evaluate(([s, st]) => window.cairnTabs.burst(s, 'a', st, 20), [store, aStreams] as const),
        b.page.evaluate(([s, st]) => window.cairnTabs.burst(s, 'b', st, 20), [store, bStreams] as const),
      ]);
      const [wrongA, wrongB] = await Promise.all([
        a.page.evaluate(([s, st]) => window.cairnTabs.crossCheck(s, st, 300), [store, aStreams] as const),
        b.page.evaluate(([s, st]) => window.cairnTabs.crossCheck(s, st, 300), [store, bStreams] as const),
      ]);
      expect(wrongA).toEqual([]);
      expect(wrongB).toEqual([]);
    } finally {
      await closeAll(tabs);
    }
  });

  test('fails with NO_LEADER when the lock holder never serves, and recovers when a leader appears', async ({ openPage }) => {
    const store = storeName('no-leader');
    // A page that holds the store's lock and serves nothing.
    const squatter = await openPage();
    const tabs: Tab[] = [];
    try {
      await squatter.evaluate((s) => window.cairnTabs.holdLock(s), store);
      await expect.poll(() => squatter.evaluate((s) => window.cairnTabs.lockState(s), store), POLL).toEqual({ held: 1, pending: 0 });

      const page = await openPage();
      tabs.push({ page, role: '' });
      const started = Date.now();
      const failure = await page.evaluate((s) => window.cairnTabs.openFailure(s, { leaderTimeout: 1000 }), store);
      expect(Date.now() - started).toBeGreaterThanOrEqual(900);
      expect(failure).toMatchObject({ code: 'NO_LEADER', isNoLeader: true, isOwnClass: true });

      // Now a real leader, a follower, and the squatter queued for the lock before the
      // follower: when the leader closes, the lock goes to the squatter, not the follower.
      await squatter.evaluate((s) => window.cairnTabs.releaseLock(s), store);
      tabs.push(await openTab(openPage, store, { leaderTimeout: 1000 }));
      await squatter.evaluate((s) => window.cairnTabs.holdLock(s), store);
      await expect.poll(() => squatter.evaluate((s) => window.cairnTabs.lockState(s), store), POLL).toEqual({ held: 1, pending: 1 });
      const follower = await openTab(openPage, store, { leaderTimeout: 1000 });
      tabs.push(follower);
      expect(follower.role).toBe('follower');
      await tabs[1]!.page.evaluate((s) => window.cairnTabs.close(s), store);

      const r = await follower.page.evaluate((s) => window.cairnTabs.burst(s, 'f', ['w-1'], 3), store);
      expect(r.errors.map((e) => e.code)).toEqual(['NO_LEADER', 'NO_LEADER', 'NO_LEADER']);

      // The squatter lets go: the follower takes over and serves itself.
      await squatter.evaluate((s) => window.cairnTabs.releaseLock(s), store);
      await expect.poll(() => follower.page.evaluate((s) => window.cairnTabs.role(s), store), POLL).toBe('leader');
      const after = await follower.page.evaluate((s) => window.cairnTabs.burst(s, 'f', ['w-1'], 3), store);
      expect(after.errors).toEqual([]);
      expect(after.acked.map((a) => a.version).sort()).toEqual([1, 2, 3]);
    } finally {
      await closeAll(tabs);
      await squatter.close();
    }
  });
});
