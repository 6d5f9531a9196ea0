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
  test.setTimeout(120_000 + KILLS * 30_000);
  const random = createRandom(SEED);
  console.log(`[crash-loop] seed ${SEED}, ${KILLS} kills`);
  const name = `crash-loop-${SEED}`;
  const acked = new Map<string, Ack>();
  let eventsAtEnd = 0;

  /**
   * Checks the store after a kill, in a browser started on the profile again. The checks
   * collect what is wrong and assert once per kind (a Playwright `expect` per event would be
   * a recorded step each).
   */
  const check = async (page: Page, round: number): Promise<void> => {
    const { events, integrity } = await page.evaluate((n) => window.cairnTest.crashDump(n), name);
    expect(integrity, `round ${round}`).toEqual(['ok']);
    const wrong: string[] = [];

    // Positions 1..n with no gap; each stream's versions 1..k with no gap; ids unique.
    const versions = new Map<string, number>();
    events.forEach((e, i) => {
      if (e.position !== i + 1) wrong.push(`position ${e.position} where ${i + 1} was due`);
      const v = (versions.get(e.stream) ?? 0) + 1;
      if (e.version !== v) wrong.push(`${e.stream} at version ${e.version} where ${v} was due`);
      versions.set(e.stream, v);
    });
    if (new Set(events.map((e) => e.id)).size !== events.length) wrong.push('an id stored twice');

    // Every batch there is whole (3 events, i = 0, 1, 2), once.
    const batches = new Map<string, typeof events>();
    for (const e of events) {
      const key = `${e.round}/${e.tab}/${e.seq}`;
      batches.set(key, [...(batches.get(key) ?? []), e]);
    }
    for (const [key, parts] of batches) {
      if (parts.map((e) => e.i).join() !== '0,1,2') wrong.push(`batch ${key} holds events ${parts.map((e) => e.i).join()}`);
    }

    // Every acknowledged batch is there, as it was acknowledged.
    const byId = new Map(events.map((e) => [e.id, e]));
    for (const [key, ack] of acked) {
      if (!batches.has(key)) wrong.push(`acknowledged batch ${key} lost`);
      for (const r of ack.results) {
        const stored = r.ids.map((id) => byId.get(id));
        const last = stored.at(-1);
        if (!stored.every((e) => e?.stream === r.stream) || last?.version !== r.version || last.position !== r.position) {
          wrong.push(`batch ${key}: acknowledged at ${r.stream}@${r.version} (position ${r.position}), stored as ${JSON.stringify(stored.map((e) => e && [e.stream, e.version, e.position]))}`);
        }
      }
    }
    if (events.length < eventsAtEnd) wrong.push(`${eventsAtEnd - events.length} events gone since the last check`);
    expect(wrong, `round ${round}`).toEqual([]);
    eventsAtEnd = events.length;
  };

  for (let round = 0; round <= KILLS; round++) {
    const started = Date.now();
    const chrome = await spawnChromium();
    const phases = [`started ${Date.now() - started}`];
    if (round > 0) {
      const page = await chrome.openPage(appUrl);
      await check(page, round - 1);
      await page.close();
      phases.push(`checked ${Date.now() - started}`);
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
    phases.push(`tabs ${Date.now() - started}`);
    expect(await until(() => seen > 0, 30_000), `round ${round}: the tabs appended nothing in 30 s`).toBe(true);
    phases.push(`appending ${Date.now() - started}`);
    if (random.chance(0.5)) {
      const target = seen + random.int(41);
      await until(() => seen >= target, 10_000);
    } else {
      await new Promise((r) => setTimeout(r, random.between(0, 300)));
    }
    await chrome.kill();
    console.log(`[crash-loop] round ${round}: ${seen} batches acknowledged, ${Date.now() - started} ms (${phases.join(', ')})`);
  }
  console.log(`[crash-loop] ${KILLS} kills survived: ${acked.size} acknowledged batches, ${eventsAtEnd} events, none lost, no partial batch`);
  expect(acked.size).toBeGreaterThan(0);
});
