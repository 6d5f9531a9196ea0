/**
 * Durability against power loss, through the real engine on the crash VFS
 * (`test/support/crash-vfs.ts`), with the PRAGMAs the worker ships (`storagePragmas`).
 *
 * A workload of random append groups runs with power lost at operation k (an xWrite or an
 * xSync); every call is recorded as acknowledged, rejected or cut off. The disk is then rebuilt
 * as power loss leaves it (the synced bytes, plus a random subset of the unsynced writes in
 * random order, some torn), several times per crash point with different seeds, and a fresh
 * engine opened on each image must find:
 * - `PRAGMA integrity_check` ok;
 * - strict durability: every acknowledged event, at its version, position and id;
 * - relaxed durability: a prefix of the commit order, in whole transactions (a tail of
 *   acknowledged commits may be gone, nothing else);
 * - every call that was not acknowledged wholly present or wholly absent;
 * - a store that takes and reads new appends.
 *
 * Crash points: every operation of a small workload (which also closes and reopens the store
 * midway, so the final checkpoint and the WAL's deletion are crossed), and random operations
 * of a workload of a few thousand calls (which crosses automatic checkpoints), half of them
 * chosen among the syncs and the database-file writes of checkpoints.
 *
 * A control runs the strict checks with `synchronous = OFF` and must see acknowledged events
 * lost: it shows that the harness would catch a commit path that skipped its sync.
 *
 * The seed is printed; set CAIRN_SEED to explore others.
 */
import type { Sqlite3Static } from '@sqlite.org/sqlite-wasm';
import { beforeAll, describe, expect, it } from 'vitest';
import { isVersionConflict } from '../../src/core/errors.ts';
import { storagePragmas } from '../../src/core/pragmas.ts';
import { loadSqlite } from '../../src/core/sqlite-wasm.ts';
import type { Durability } from '../../src/core/types.ts';
import { AppendWorkload, checkLog, describeError, readLog, type Expectation, type WorkloadOptions } from '../support/append-workload.ts';
import { installCrashVfs, type CrashVfs, type DiskImage } from '../support/crash-vfs.ts';
import { createRandom, seedFromEnv, type Random } from '../support/random.ts';
import { DB_FILE, openVfsEngine, type VfsEngine } from '../support/vfs-engine.ts';

const SEED = seedFromEnv(0x5eed_2026);
/** Images rebuilt per crash point, each from its own seed. */
const IMAGES_PER_POINT = 3;
/** Each test replays its workload hundreds of times. */
const TIMEOUT = 120_000;
/** A fixed clock, so that every run of a workload writes the same bytes. */
const NOW = 1_767_225_600_000;

/** A workload: how many rounds of how many concurrent calls, and when the store is closed and reopened. */
interface Plan {
  seed: number;
  rounds: number;
  maxRound: number;
  reopenAfterRound?: number;
  options?: Partial<WorkloadOptions>;
}

const SMALL: Plan = { seed: SEED, rounds: 12, maxRound: 5, reopenAfterRound: 6, options: { streams: 5 } };
const LARGE: Plan = { seed: SEED ^ 0x1a26e, rounds: 1000, maxRound: 5, reopenAfterRound: 500 };
/** Random crash points of the large workload, per durability. */
const LARGE_POINTS = 12;

let sqlite3: Sqlite3Static;
let vfs: CrashVfs;

beforeAll(async () => {
  sqlite3 = await loadSqlite();
  vfs = installCrashVfs(sqlite3, 'power-loss');
});

describe('power loss', () => {
  for (const durability of ['strict', 'relaxed'] as const) {
    it(`${durability}: survives a crash at every write and sync of a small workload`, async () => {
      const total = await dryRun(SMALL, storagePragmas(durability));
      const points = Array.from({ length: total }, (_, i) => i + 1);
      const tally = await crashAtPoints(SMALL, storagePragmas(durability), durability, points);
      report(`${durability}, every operation of a small workload (${total} operations)`, tally);
      expect(tally.failures).toEqual([]);
      expect(tally.survived).toBe(points.length * IMAGES_PER_POINT);
      if (durability === 'strict') expect(tally.lostAcknowledged).toBe(0);
    }, TIMEOUT);

    it(`${durability}: survives crashes at random points of a workload of a few thousand groups`, async () => {
      const total = await dryRun(LARGE, storagePragmas(durability));
      const points = pickPoints(vfs, total, LARGE_POINTS, createRandom(LARGE.seed).fork(durability === 'strict' ? 1 : 2));
      const tally = await crashAtPoints(LARGE, storagePragmas(durability), durability, points);
      report(`${durability}, random operations of a large workload (${total} operations, ${tally.calls} calls)`, tally);
      expect(tally.failures).toEqual([]);
      expect(tally.survived).toBe(points.length * IMAGES_PER_POINT);
      if (durability === 'strict') expect(tally.lostAcknowledged).toBe(0);
    }, TIMEOUT);
  }

  it('control: with the commit sync turned off, the strict checks see acknowledged events lost', async () => {
    const pragmas = `${storagePragmas('strict')} PRAGMA synchronous = OFF;`;
    const total = await dryRun(SMALL, pragmas);
    const points = Array.from({ length: total }, (_, i) => i + 1);
    const tally = await crashAtPoints(SMALL, pragmas, 'strict', points);
    report('control, synchronous = OFF, every operation of a small workload', tally);
    console.log(
      `[power-loss] control: ${tally.imagesLosingAcknowledged} of ${tally.images} crash images lost acknowledged calls ` +
        `(${tally.lostAcknowledged} calls in all), ${tally.imagesCorrupt} were corrupt; first: ${tally.failures[0] ?? 'none'}`,
    );
    const kinds = new Map<string, number>(); for (const f of tally.failures) { const k = f.replace(/^.*image \d+: /, '').replace(/[0-9]+/g, 'N').slice(0, 90); kinds.set(k, (kinds.get(k) ?? 0) + 1); } console.log([...kinds]);
    expect(tally.imagesLosingAcknowledged).toBeGreaterThan(0);
  }, TIMEOUT);
});

/** What a series of crashes came to. */
interface Tally {
  points: number;
  images: number;
  survived: number;
  eventsChecked: number;
  calls: number;
  lostAcknowledged: number;
  imagesLosingAcknowledged: number;
  /** Images that would not open, or failed integrity_check. */
  imagesCorrupt: number;
  survivedUnacknowledged: number;
  /** Writes to the database file, which only checkpoints make, in the longest run. */
  checkpointWrites: number;
  failures: string[];
}

/** Runs the plan without a crash and returns how many counted operations it made. */
async function dryRun(plan: Plan, pragmas: string): Promise<number> {
  const run = await runWorkload(plan, pragmas, undefined);
  const total = vfs.ops;
  await run.store?.close();
  expect(run.unexpected).toEqual([]);
  expect(vfs.unexpected).toEqual([]);
  return total;
}

/** Crashes the plan at each point, rebuilds the disk several ways, and checks each image. */
async function crashAtPoints(plan: Plan, pragmas: string, durability: Durability, points: readonly number[]): Promise<Tally> {
  const expectation: Expectation = durability;
  const tally: Tally = {
    points: points.length, images: 0, survived: 0, eventsChecked: 0, calls: 0, lostAcknowledged: 0,
    imagesLosingAcknowledged: 0, imagesCorrupt: 0, survivedUnacknowledged: 0, checkpointWrites: 0, failures: [],
  };
  for (const point of points) {
    const run = await runWorkload(plan, pragmas, point);
    const where = `seed ${plan.seed}, crash at operation ${point}`;
    if (!vfs.powerLost) tally.failures.push(`${where}: the workload ended before the crash point`);
    if (run.unexpected.length > 0) tally.failures.push(`${where}: unexpected errors: ${run.unexpected.join(' | ')}`);
    if (vfs.unexpected.length > 0) tally.failures.push(`${where}: VFS exceptions: ${vfs.unexpected.map(String).join(' | ')}`);
    tally.calls = Math.max(tally.calls, run.workload.calls.length);
    tally.checkpointWrites = Math.max(tally.checkpointWrites, vfs.log.filter((op) => op.kind === 'write' && op.file === DB_FILE).length);
    const images: DiskImage[] = [];
    for (let i = 0; i < IMAGES_PER_POINT; i++) images.push(vfs.crashImage(createRandom(plan.seed).fork(point * IMAGES_PER_POINT + i)));
    await run.store?.close();

    for (let i = 0; i < images.length; i++) {
      tally.images++;
      const failures = await checkImage(images[i]!, pragmas, run.workload, expectation, tally);
      if (failures.length === 0) tally.survived++;
      else tally.failures.push(...failures.slice(0, 3).map((f) => `${where}, image ${i}: ${f}`));
    }
  }
  return tally;
}

/** Opens a fresh engine on an image and checks it against what the crashed run recorded. */
async function checkImage(image: DiskImage, pragmas: string, workload: AppendWorkload, expectation: Expectation, tally: Tally): Promise<string[]> {
  vfs.reset(image);
  let store: VfsEngine;
  try {
    store = openVfsEngine(sqlite3, vfs, pragmas, { now: () => NOW });
  } catch (e) {
    tally.imagesCorrupt++;
    return [`the store does not open: ${describeError(e)}`];
  }
  try {
    const integrity = store.integrity();
    if (integrity !== 'ok') {
      tally.imagesCorrupt++;
      return [`integrity_check: ${integrity}`];
    }
    const events = await readLog(store.engine);
    const log = checkLog(workload.calls, events, workload.commitHeads, expectation);
    tally.eventsChecked += log.eventsChecked;
    tally.lostAcknowledged += log.lostAcknowledged;
    tally.survivedUnacknowledged += log.survivedUnacknowledged;
    if (log.lostAcknowledged > 0 && expectation === 'strict') tally.imagesLosingAcknowledged++;
    const violations = [...log.violations];
    violations.push(...(await checkAcceptsAppends(store, events.length)));
    if (store.integrity() !== 'ok') violations.push(`integrity_check after new appends: ${store.integrity()}`);
    if (vfs.unexpected.length > 0) violations.push(`VFS exceptions: ${vfs.unexpected.map(String).join(' | ')}`);
    return violations;
  } catch (e) {
    if (/SQLITE_(CORRUPT|NOTADB)/.test(describeError(e))) tally.imagesCorrupt++;
    return [`checking threw: ${describeError(e)}`];
  } finally {
    await store.close();
  }
}

/** After a crash the store must take new appends, on a new stream and on an existing one, and read them back. */
async function checkAcceptsAppends(store: VfsEngine, head: number): Promise<string[]> {
  const workload = new AppendWorkload(createRandom(head));
  const fresh = workload.request('after-crash', 2);
  const first = await store.engine.append({ ...fresh, expectedVersion: 'no_stream' });
  const existing = head > 0 ? (await store.engine.readFrom({}, head - 1, 1)).events[0] : undefined;
  const problems: string[] = [];
  if (first.position !== head + 2 || first.version !== 2) problems.push(`a new append landed at p${first.position}/v${first.version}, after head ${head}`);
  if (existing !== undefined) {
    const req = workload.request(existing.stream, 1);
    const second = await store.engine.append({ ...req, expectedVersion: existing.version });
    const back = await store.engine.readStream(existing.stream, { fromVersion: existing.version });
    if (second.version !== existing.version + 1 || back.at(-1)?.id !== req.events[0]!.id) {
      problems.push(`an append to ${existing.stream} after the crash does not read back`);
    }
  }
  const read = await store.engine.readStream('after-crash');
  if (read.map((e) => e.id).join() !== fresh.events.map((e) => e.id).join()) problems.push('the new stream does not read back');
  return problems;
}

/** One run of a plan; power is lost at `crashAt` if given. */
async function runWorkload(plan: Plan, pragmas: string, crashAt: number | undefined): Promise<{ workload: AppendWorkload; store: VfsEngine | undefined; unexpected: string[] }> {
  vfs.reset();
  if (crashAt !== undefined) vfs.losePowerAt(crashAt);
  const random = createRandom(plan.seed);
  const workload = new AppendWorkload(random, plan.options);
  const unexpected: string[] = [];
  const classify = (e: unknown) => {
    if (isVersionConflict(e)) return 'rejected' as const;
    if (vfs.powerLost) return 'cut' as const;
    unexpected.push(describeError(e));
    return 'rejected' as const;
  };
  let store: VfsEngine | undefined;
  const open = (): VfsEngine => {
    const s = openVfsEngine(sqlite3, vfs, pragmas, { now: () => NOW });
    workload.follow(s.engine);
    return s;
  };
  try {
    store = open();
    for (let round = 0; round < plan.rounds && !vfs.powerLost; round++) {
      if (round === plan.reopenAfterRound) {
        const closing = store;
        store = undefined;
        await closing.close();
        if (vfs.powerLost) break;
        store = open();
      }
      await workload.run(store.engine, workload.round(random.between(1, plan.maxRound)), classify);
    }
  } catch (e) {
    // Opening fails once the disk is gone (the migration's or a reopen's I/O); anything else is a bug.
    if (!vfs.powerLost) unexpected.push(describeError(e));
  }
  return { workload, store, unexpected };
}

/** Random crash points: half anywhere, half among syncs and writes to the database file (checkpoints). */
function pickPoints(vfs: CrashVfs, total: number, count: number, random: Random): number[] {
  const special = vfs.log.slice(0, total).flatMap((op, i) => (op.kind === 'sync' || op.file === DB_FILE ? [i + 1] : []));
  const points = new Set<number>();
  while (points.size < Math.min(count, total)) {
    points.add(points.size % 2 === 0 || special.length === 0 ? random.between(1, total) : random.pick(special));
  }
  return [...points].sort((a, b) => a - b);
}

function report(what: string, t: Tally): void {
  console.log(
    `[power-loss] ${what}: seed ${SEED}; crash points ${t.points}, images per point ${IMAGES_PER_POINT}, ` +
      `crashes survived ${t.survived} of ${t.images}, events checked ${t.eventsChecked}, ` +
      `acknowledged calls lost ${t.lostAcknowledged}, unacknowledged calls that survived whole ${t.survivedUnacknowledged}, ` +
      `checkpoint writes in a run ${t.checkpointWrites}`,
  );
}
