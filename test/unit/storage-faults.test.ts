/**
 * Storage faults under the real engine: I/O errors, a full disk and failing syncs injected
 * by the crash VFS (`test/support/crash-vfs.ts`) while groups of appends run, on a database
 * opened with the PRAGMAs the worker ships (strict durability).
 *
 * What must hold, whatever the fault:
 * - every call settles: it succeeds, or it rejects with a CairnError whose code says what
 *   happened, never INTERNAL: SQLITE_FULL is QUOTA_EXCEEDED; an I/O error, a failed read or a
 *   failed sync is STORAGE_UNAVAILABLE (and a version conflict stays VERSION_CONFLICT);
 * - nothing acknowledged is lost, and a rejected append wrote nothing, no part of a group
 *   included; now, and after the store is closed and reopened;
 * - an append that did not cause the fault is not refused for it. When the fault hits inside
 *   one append's statements (SQLite then rolls the whole transaction back), the other appends
 *   of the group are retried in a fresh transaction, and commit if the fault was transient.
 *   A fault in the transaction's BEGIN or COMMIT belongs to the whole group: each append then
 *   either commits (on a retry) or is refused with the typed error;
 * - once the fault is switched off the store serves reads and writes, and it reopens with
 *   `integrity_check` ok.
 *
 * A fault inside one append's statements is provoked two ways: an append big enough (about
 * 18 MB) to spill SQLite's 16 MiB page cache into the WAL in the middle of its INSERT, and a
 * read of a page that is not cached yet, after the store is reopened.
 *
 * The seed is printed; set CAIRN_SEED to explore others.
 */
import type { Sqlite3Static } from '@sqlite.org/sqlite-wasm';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ErrorCode, isCairnError } from '../../src/core/errors.ts';
import { storagePragmas } from '../../src/core/pragmas.ts';
import type { AppendRequest } from '../../src/core/records.ts';
import { loadSqlite } from '../../src/core/sqlite-wasm.ts';
import { AppendWorkload, checkLog, describeError, readLog, type Call } from '../support/append-workload.ts';
import { installCrashVfs, type CrashVfs, type Fault, type FaultKind } from '../support/crash-vfs.ts';
import { createRandom, seedFromEnv } from '../support/random.ts';
import { openVfsEngine, type VfsEngine } from '../support/vfs-engine.ts';

const SEED = seedFromEnv(0xfa17_2026);
const MiB = 1024 * 1024;
/** Over the 16 MiB page cache of this build, so that the INSERT spills into the WAL. */
const BIG_EVENT_CHARS = Math.ceil((18.5 * MiB) / 4);
const MAX_EVENT_BYTES = 8 * MiB;
const TIMEOUT = 60_000;

/** The code a call refused for each kind of fault must carry. */
const EXPECTED_CODE: Record<FaultKind, ErrorCode> = {
  'disk-full': ErrorCode.QUOTA_EXCEEDED,
  'write-error': ErrorCode.STORAGE_UNAVAILABLE,
  'sync-error': ErrorCode.STORAGE_UNAVAILABLE,
  'read-error': ErrorCode.STORAGE_UNAVAILABLE,
};
const FAULT_KINDS = Object.keys(EXPECTED_CODE) as FaultKind[];

/** Statements that are the transaction's, not one append's. */
const TRANSACTION_CONTROL = /^\s*(BEGIN|COMMIT|END|ROLLBACK|SAVEPOINT|RELEASE)\b/i;

let sqlite3: Sqlite3Static;
let vfs: CrashVfs;
/** Every fault armed in this file, for the summary. */
const injected: Fault[] = [];
let callsMade = 0;

beforeAll(async () => {
  sqlite3 = await loadSqlite();
  vfs = installCrashVfs(sqlite3, 'storage-faults');
});

afterAll(() => {
  const hits = injected.reduce((n, f) => n + f.hits, 0);
  console.log(`[storage-faults] seed ${SEED}: faults injected ${injected.length}, fault hits ${hits}, calls ${callsMade}`);
});

describe('storage faults', () => {
  it('a full disk inside one append: that append gets QUOTA_EXCEEDED, the rest of its group commits', async () => {
    const t = await start(1);
    const big = t.bigRequest('big-1');
    const quota = vfs.usedBytes() + 4 * MiB;
    const fault = inject({ kind: 'disk-full', match: (op) => op.grows > 0 && vfs.usedBytes() + op.grows > quota });
    const [a1, b, a2, a3] = await t.group([t.small('a-1'), big, t.small('a-2'), t.small('a-3')]);
    expect(fault.hits, 'the quota was reached').toBeGreaterThan(0);
    expect.soft(codeOf(b!), `the big append: ${describeError(b!.error)}`).toBe(ErrorCode.QUOTA_EXCEEDED);
    for (const c of [a1!, a2!, a3!]) expectAcknowledged(c, 'which did not cause the fault');
    fault.off();
    await t.expectConsistent('after the fault');
    // Once there is room, an append as big goes through (new ids: the refused one must stay absent).
    const [again] = await t.group([t.bigRequest('big-1')]);
    expectAcknowledged(again!, 'an append as big, once there is room');
    await t.expectServesAndReopens();
  }, TIMEOUT);

  it('a transient write error inside one append: the rest of its group is retried and commits', async () => {
    const t = await start(2);
    const big = t.bigRequest('big-2');
    const spot = t.spot({ kind: 'write-error', times: 1 });
    const [a1, b, a2, a3] = await t.group([t.small('a-1'), big, t.small('a-2'), t.small('a-3')]);
    expect(spot.fault.hits).toBe(1);
    expect(spot.statements, 'the fault hit inside the big append').toEqual([expect.stringMatching(/^INSERT/)]);
    expectAcknowledgedOr(b!, ErrorCode.STORAGE_UNAVAILABLE, 'the big append, which hit the fault');
    for (const c of [a1!, a2!, a3!]) expectAcknowledged(c, 'which did not cause the fault');
    await t.expectConsistent('after the fault');
    await t.expectServesAndReopens();
  }, TIMEOUT);

  it('a transient read error inside one append: the rest of its group is retried and commits', async () => {
    const t = await start(3, 60);
    await t.reopen(); // a cold page cache: the next appends read pages from the files
    const spot = t.spot({ kind: 'read-error', times: 1 });
    const calls = await t.group(['cart-7', 'order-23', 'order-41', 'cart-55'].map((s) => t.small(s)));
    expect(spot.fault.hits).toBe(1);
    expect(spot.statements, 'the fault hit inside an append').toEqual([expect.not.stringMatching(TRANSACTION_CONTROL)]);
    const refused = calls.filter((c) => c.outcome !== 'acknowledged');
    expect.soft(refused.length, `at most the append that read the page is refused: ${refused.map((c) => describeError(c.error)).join(' | ')}`).toBeLessThanOrEqual(1);
    for (const c of refused) expect.soft(codeOf(c), describeError(c.error)).toBe(ErrorCode.STORAGE_UNAVAILABLE);
    await t.expectConsistent('after the fault');
    await t.expectServesAndReopens();
  }, TIMEOUT);

  for (const kind of ['sync-error', 'write-error', 'disk-full'] as const) {
    it(`a transient ${kind} at COMMIT: each append commits or is refused with ${EXPECTED_CODE[kind]}, never in part`, async () => {
      const t = await start(4);
      const spot = t.spot({ kind, times: 1 });
      const calls = await t.group([t.small('a-1'), t.small('a-2', 3), t.many(['a-3', 'a-4']), t.small('a-1')]);
      expect(spot.fault.hits).toBe(1);
      expect(spot.statements, 'the fault hit at COMMIT').toEqual(['COMMIT']);
      for (const c of calls) expectAcknowledgedOr(c, EXPECTED_CODE[kind], 'in the group whose COMMIT failed');
      await t.expectConsistent('after the fault');
      await t.expectServesAndReopens();
    }, TIMEOUT);
  }

  for (const kind of FAULT_KINDS) {
    // A write, a sync or a full disk fails every COMMIT; a failing read only fails the appends
    // that need a page not cached yet, so there an append may still go through.
    const what = kind === 'read-error' ? `the appends that read are refused with ${EXPECTED_CODE[kind]}` : `every append is refused with ${EXPECTED_CODE[kind]}`;
    it(`a lasting ${kind}: ${what}, and the store recovers once it clears`, async () => {
      const t = await start(5, kind === 'read-error' ? 60 : 3);
      if (kind === 'read-error') await t.reopen();
      const before = await t.store.engine.head();
      const fault = inject({ kind });
      const calls = await t.group([t.small('cart-7'), t.small('order-23'), t.many(['order-41', 'cart-55'])]);
      expect(fault.hits).toBeGreaterThan(0);
      if (kind === 'read-error') {
        expect.soft(calls.some((c) => c.outcome !== 'acknowledged'), 'some append was refused').toBe(true);
        for (const c of calls) expectAcknowledgedOr(c, EXPECTED_CODE[kind], 'while reads fail');
      } else {
        for (const c of calls) expect.soft(codeOf(c), describeError(c.error)).toBe(EXPECTED_CODE[kind]);
      }
      // Reads go on while writes fail; a failing read is refused with its own typed error.
      const read = await settle(t.store.engine.readStream('cart-7'));
      if (kind === 'read-error') {
        expect.soft(read.ok ? 'ok' : codeOf(read), read.ok ? '' : describeError(read.error)).toMatch(/^(ok|STORAGE_UNAVAILABLE)$/);
      } else {
        expect.soft(read.ok, read.ok ? '' : describeError(read.error)).toBe(true);
      }
      fault.off();
      if (kind !== 'read-error') expect.soft(await t.store.engine.head(), 'nothing was written').toBe(before);
      await t.expectConsistent('after the fault');
      await t.expectServesAndReopens();
    }, TIMEOUT);
  }

  it('faults at random points while groups of appends run', async () => {
    const random = createRandom(SEED).fork(6);
    const t = await start(6, 0);
    /** Calls refused with a code the fault does not explain, counted by fault kind and error. */
    const wrongCodes: Record<string, number> = {};
    const refusedForOthers: string[] = [];
    const counts = { rounds: 0, faultsInjected: 0, faultsHit: 0, roundsHitInsideAppends: 0, calls: 0, acknowledged: 0, conflicts: 0, refusedByFaults: 0 };
    for (let round = 0; round < 160; round++) {
      // Cold caches now and then, so that reads reach the files; a read fault right after
      // reopening lands inside an append's first statement.
      const reopened = round > 0 && round % 10 === 0;
      if (reopened) await t.reopen();
      let spot: Spot | undefined;
      let kind: FaultKind | undefined;
      if (reopened && random.chance(0.6)) {
        kind = 'read-error';
        spot = t.spot({ kind, times: random.pick([1, 2]) });
      } else if (random.chance(0.4)) {
        kind = random.pick(FAULT_KINDS);
        const times = random.pick([1, 1, 2, Infinity]);
        spot = t.spot({ kind, from: vfs.ops + 1 + random.int(24), ...(times === Infinity ? {} : { times }) });
      }
      if (spot !== undefined) counts.faultsInjected++;
      const calls = t.workload.round(random.between(1, 6));
      await t.workload.run(t.store.engine, calls, () => 'rejected');
      spot?.fault.off();
      counts.rounds++;
      counts.calls += calls.length;
      const hits = spot?.fault.hits ?? 0;
      counts.faultsHit += hits;
      const allowed = new Set<string>([ErrorCode.VERSION_CONFLICT, ...(hits > 0 && kind !== undefined ? [EXPECTED_CODE[kind]] : [])]);
      let refused = 0;
      for (const c of calls) {
        if (c.outcome === 'acknowledged') counts.acknowledged++;
        else if (codeOf(c) === ErrorCode.VERSION_CONFLICT) counts.conflicts++;
        else refused++;
        if (c.outcome !== 'acknowledged' && !allowed.has(codeOf(c))) {
          const key = `${hits > 0 ? kind : 'no fault hit'} -> ${describeError(c.error)}`;
          wrongCodes[key] = (wrongCodes[key] ?? 0) + 1;
        }
      }
      counts.refusedByFaults += refused;
      // Each hit inside an append's own statements may cost that append, and no other.
      if (hits > 0 && spot!.statements.every((s) => s !== undefined && !TRANSACTION_CONTROL.test(s))) {
        counts.roundsHitInsideAppends++;
        if (refused > hits) refusedForOthers.push(`round ${round}: a ${kind} hit ${hits} append statement(s), and ${refused} calls were refused`);
      }
    }
    console.log(
      `[storage-faults] random faults: seed ${SEED}; rounds ${counts.rounds}, faults injected ${counts.faultsInjected}, ` +
        `fault hits ${counts.faultsHit} (rounds hit only inside appends' statements: ${counts.roundsHitInsideAppends}), calls ${counts.calls}: ` +
        `acknowledged ${counts.acknowledged}, version conflicts ${counts.conflicts}, refused by faults ${counts.refusedByFaults}`,
    );
    expect(counts.faultsHit, 'faults were hit').toBeGreaterThan(0);
    expect.soft(wrongCodes, 'calls refused with a code other than the fault\'s').toEqual({});
    expect.soft(refusedForOthers, 'calls refused for a fault they did not cause').toEqual([]);
    await t.expectConsistent('after the random faults');
    await t.expectServesAndReopens();
  }, TIMEOUT);
});

/** A fault and the statements that were running at each of its hits. */
interface Spot {
  fault: Fault;
  statements: (string | undefined)[];
}

/** A test's store, its record of calls, and the checks every test ends with. */
interface Trial {
  store: VfsEngine;
  workload: AppendWorkload;
  small(stream: string, events?: number): AppendRequest;
  many(streams: string[]): AppendRequest[];
  bigRequest(stream: string): AppendRequest;
  /** Issues the requests as one group (a request array is one appendMany) and waits for all. */
  group(requests: (AppendRequest | AppendRequest[])[]): Promise<Call[]>;
  /** Arms a fault that records the statement running at each hit. */
  spot(spec: Parameters<CrashVfs['inject']>[0]): Spot;
  /** Closes the store cleanly and opens it again on the same files. */
  reopen(): Promise<void>;
  expectConsistent(when: string): Promise<void>;
  expectServesAndReopens(): Promise<void>;
}

/** A fresh store with `warmRounds` rounds of random appends already committed. */
async function start(salt: number, warmRounds = 3): Promise<Trial> {
  vfs.reset();
  const random = createRandom(SEED).fork(salt);
  const workload = new AppendWorkload(random.fork(1));
  const open = (): VfsEngine => {
    const s = openVfsEngine(sqlite3, vfs, storagePragmas('strict'), { maxEventBytes: MAX_EVENT_BYTES });
    workload.follow(s.engine);
    return s;
  };
  let store = open();

  for (let i = 0; i < warmRounds; i++) await workload.run(store.engine, workload.round(random.between(2, 6)), () => 'rejected');
  const anyVersion = (req: AppendRequest): AppendRequest => ({ ...req, expectedVersion: 'any' });
  let afterFault = 0;

  const trial: Trial = {
    get store() {
      return store;
    },
    workload,
    small: (stream, events = 1) => anyVersion(workload.request(stream, events)),
    many: (streams) => streams.map((s) => anyVersion(workload.request(s, 2))),
    bigRequest: (stream) => anyVersion(workload.request(stream, 4, BIG_EVENT_CHARS)),
    async group(requests) {
      const calls = requests.map((r) => workload.add(Array.isArray(r) ? r : [r], Array.isArray(r)));
      await workload.run(store.engine, calls, () => 'rejected');
      return calls;
    },
    spot(spec) {
      const statements: (string | undefined)[] = [];
      const match = spec.match;
      const fault = inject({
        ...spec,
        match: (op) => {
          if (match !== undefined && !match(op)) return false;
          statements.push(store.running);
          return true;
        },
      });
      return { fault, statements };
    },
    async reopen() {
      vfs.clearFaults();
      await store.close();
      vfs.reset(vfs.liveImage());
      store = open();
    },
    async expectConsistent(when) {
      const report = checkLog(workload.calls, await readLog(store.engine), workload.commitHeads, 'strict');
      expect.soft(report.violations, `the log ${when}`).toEqual([]);
    },
    async expectServesAndReopens() {
      vfs.clearFaults();
      await expectServes(`after-fault-${afterFault++}`);
      await trial.reopen();
      expect.soft(store.integrity(), 'integrity_check after reopening').toBe('ok');
      await trial.expectConsistent('after reopening');
      await expectServes(`after-fault-${afterFault++}`);
      expect(vfs.unexpected, 'exceptions inside the VFS').toEqual([]);
      await store.close();
      callsMade += workload.calls.length;
    },
  };

  async function expectServes(stream: string): Promise<void> {
    const [call] = await trial.group([trial.small(stream, 2)]);
    expect.soft(codeOf(call!), `a new append once the fault is off: ${describeError(call!.error)}`).toBe('acknowledged');
    const back = await settle(store.engine.readStream(stream));
    expect.soft(back.ok && back.value.map((e) => e.id), 'the new append reads back').toEqual(call!.requests[0]!.events.map((e) => e.id));
  }

  return trial;
}

/** Arms a fault and keeps it for the summary. */
function inject(spec: Parameters<CrashVfs['inject']>[0]): Fault {
  const fault = vfs.inject(spec);
  injected.push(fault);
  return fault;
}

/** 'acknowledged', or the code of the call's error (or a description if it is not a CairnError). */
function codeOf(call: { outcome?: string; error: unknown }): string {
  if (call.outcome === 'acknowledged') return 'acknowledged';
  return isCairnError(call.error) ? call.error.code : `not a CairnError: ${describeError(call.error)}`;
}

function expectAcknowledged(call: Call, why: string): void {
  expect.soft(codeOf(call), `call ${call.seq} (${call.requests.map((r) => r.stream).join(', ')}), ${why}: ${describeError(call.error)}`).toBe('acknowledged');
}

function expectAcknowledgedOr(call: Call, code: ErrorCode, why: string): void {
  expect.soft(['acknowledged', code], `call ${call.seq} (${call.requests.map((r) => r.stream).join(', ')}), ${why}: ${describeError(call.error)}`).toContain(codeOf(call));
}

type Settled<T> = { ok: true; value: T; error: undefined } | { ok: false; error: unknown };

async function settle<T>(p: Promise<T>): Promise<Settled<T>> {
  try {
    return { ok: true, value: await p, error: undefined };
  } catch (error) {
    return { ok: false, error };
  }
}
