/**
 * Chromium SIGKILLed again and again, with its whole process group, at random moments while
 * two tabs keep several appends each in flight (so they group-commit through one leader) on
 * OPFS. After each restart: SQLite's integrity check is ok; every batch a tab saw
 * acknowledged is there with the ids, versions and positions it was acknowledged with; every
 * batch that is there is whole and there once; versions and positions have no gap.
 *
 * 20 kills in `npm test`; `CAIRN_CRASH_KILLS=100 npx playwright test crash-loop` for more.
 * `CAIRN_SEED` picks the moments.
 */
import type { Page } from '@playwright/test';
import { createRandom } from '../support/random.ts';
import { expect, test } from '../fixtures.ts';

const KILLS = Number(process.env.CAIRN_CRASH_KILLS ?? 20);
const SEED = Number(process.env.CAIRN_SEED ?? Date.now() % 1_000_000);

interface Ack {
  round: number;
  tab: string;
  seq: number;
  results: { stream: string; version: number; position: number; ids: string[] }[];
}

test(`keeps every acknowledged batch and no partial one across ${KILLS} SIGKILLs of the browser, two tabs appending`, async ({ spawnChromium, appUrl }) => {
  test.setTimeout(120_000 + KILLS * 15_000);
  const random = createRandom(SEED);
  console.log(`[crash-loop] seed ${SEED}, ${KILLS} kills`);
  const name = `crash-loop-${SEED}`;
  const acked = new Map<string, Ack>();
  let eventsAtEnd = 0;

  /** Checks the store after a kill, in a browser started on the profile again. */
  const check = async (page: Page, round: number): Promise<void> => {
    const { events, integrity } = await page.evaluate((n) => window.cairnTest.crashDump(n), name);
    expect(integrity, `round ${round}`).toEqual(['ok']);

    // Positions 1..n with no gap; each stream's versions 1..k with no gap; ids unique.
    expect(events.map((e) => e.position), `round ${round}`).toEqual(events.map((_, i) => i + 1));
    const versions = new Map<string, number>();
    for (const e of events) {
      const v = (versions.get(e.stream) ?? 0) + 1;
      expect(e.version, `round ${round}: ${e.stream} at position ${e.position}`).toBe(v);
      versions.set(e.stream, v);
    }
    expect(new Set(events.map((e) => e.id)).size).toBe(events.length);

    // Every batch there is whole (3 events, i = 0, 1, 2), once.
    const batches = new Map<string, typeof events>();
    for (const e of events) {
      const key = `${e.round}/${e.tab}/${e.seq}`;
      batches.set(key, [...(batches.get(key) ?? []), e]);
    }
    for (const [key, parts] of batches) expect(parts.map((e) => e.i), `batch ${key}`).toEqual([0, 1, 2]);

    // Every acknowledged batch is there, as it was acknowledged.
    const byId = new Map(events.map((e) => [e.id, e]));
    for (const [key, ack] of acked) {
      expect(batches.has(key), `acknowledged batch ${key} lost in round ${round}`).toBe(true);
      for (const r of ack.results) {
        const stored = r.ids.map((id) => byId.get(id));
        expect(stored.every((e) => e?.stream === r.stream), `batch ${key}`).toBe(true);
        expect(stored.at(-1)!.version, `batch ${key}`).toBe(r.version);
        expect(stored.at(-1)!.position, `batch ${key}`).toBe(r.position);
      }
    }
    expect(events.length).toBeGreaterThanOrEqual(eventsAtEnd);
    eventsAtEnd = events.length;
  };

  for (let round = 0; round <= KILLS; round++) {
    const started = Date.now();
    const chrome = await spawnChromium();
    if (round > 0) {
      const page = await chrome.openPage(appUrl);
      await check(page, round - 1);
      await page.close();
    }
    if (round === KILLS) {
      await chrome.close();
      break;
    }
    const tabs = await Promise.all(['a', 'b'].map(() => chrome.openPage(appUrl)));
    let seen = 0;
    for (const [i, page] of tabs.entries()) {
      await page.exposeFunction('ackCrash', (a: Ack) => {
        acked.set(`${a.round}/${a.tab}/${a.seq}`, a);
        seen++;
      });
      void page
        .evaluate(
          ([n, r, t, k]) => window.cairnTest.appendInFlight(n, r, t, k, (a) => (window as unknown as { ackCrash(a: unknown): void }).ackCrash(a)),
          [name, round, 'ab'[i]!, 1 + random.int(4)] as const,
        )
        .catch(() => {});
    }
    // Once the tabs append (a store that cannot be opened again after a crash fails here),
    // kill at a random moment: after a random number of further acknowledged batches (0 to
    // 40), or after a random wait, as the draw says.
    const until = async (done: () => boolean, ms: number): Promise<boolean> => {
      const deadline = Date.now() + ms;
      while (!done() && Date.now() < deadline) await new Promise((r) => setTimeout(r, 2));
      return done();
    };
    expect(await until(() => seen > 0, 30_000), `round ${round}: the tabs appended nothing in 30 s`).toBe(true);
    if (random.chance(0.5)) {
      const target = seen + random.int(41);
      await until(() => seen >= target, 10_000);
    } else {
      await new Promise((r) => setTimeout(r, random.between(0, 300)));
    }
    await chrome.kill();
    console.log(`[crash-loop] round ${round}: ${seen} batches acknowledged, ${Date.now() - started} ms`);
  }
  console.log(`[crash-loop] ${KILLS} kills survived: ${acked.size} acknowledged batches, ${eventsAtEnd} events, none lost, no partial batch`);
  expect(acked.size).toBeGreaterThan(0);
});
