/**
 * The live contract: what every target must do with the scenarios of `live-scenarios.ts`.
 */
import { SCHEMA_VERSION } from '../../src/core/schema.ts';
import { expect, it as vitestIt } from 'vitest';
import type { LiveScenarioName, liveScenarios } from './live-scenarios.ts';
import type { DefineTest } from './contract.ts';
import type { Caught } from './scenarios.ts';

type Results = { [K in LiveScenarioName]: Awaited<ReturnType<(typeof liveScenarios)[K]>> };

/** Runs a live scenario on the target and returns what it returned. */
export type RunLiveScenario = <K extends LiveScenarioName>(name: K) => Promise<Results[K]>;

const range = (from: number, to: number) => Array.from({ length: to - from + 1 }, (_, i) => from + i);

function expectError(c: Caught | null, code: string): void {
  expect(c, `expected ${code}`).not.toBeNull();
  expect(c!.code).toBe(code);
  expect(c!.isCairnError).toBe(true);
  expect(c!.isOwnClass).toBe(true);
}

/** Declares the live contract's tests against one target (`it`: as in `defineContract`). */
export function defineLiveContract(run: RunLiveScenario, it: DefineTest = vitestIt): void {
  it('a subscription racing 1,000 concurrent appends sees each event exactly once, in order', async () => {
    const r = await run('subscriptionRace');
    expect(r.head).toBe(1202);
    expect(r.all).toEqual(range(1, 1201));
    expect(r.data).toEqual(range(0, 1200));
    expect(r.even).toEqual(range(0, 1199).filter((i) => i % 2 === 0));
    expect(r.maxInFlight).toBe(1);
    // From the end: a contiguous tail of the appends, ending with the last ones.
    expect(r.fromEnd.length).toBeGreaterThan(0);
    expect(r.fromEnd).toEqual(range(r.fromEnd[0]!, 1200));
    expect(r.fromEnd[0]).toBeGreaterThan(200);
    expect(r.allAfter).toBe(r.afterClose);
    expect(r.subPosition).toBe(1201);
    expect(r.subClosed).toBe(true);
  });

  it('streams with for await, stops a subscription whose handler throws, and honours signals and close', async () => {
    const r = await run('streamsAndErrors');
    expect(r.streamed).toEqual([1, 2, 3, 4, 5, 6]);
    expect(r.aborted).toEqual([4, 5, 6]);
    expect(r.handled).toEqual([1, 2]);
    expect(r.failureMessage).toBe('no threes');
    expect(r.position).toBe(2);
    expect(r.closed).toBe(true);
    expect(r.viaSignal).toEqual([1, 2]);
    expect(r.sub2Closed).toBe(true);
    expect(r.sub3Closed).toBe(true);
  });

  it('checkpoints a durable consumer, reports its lag, and resumes from the checkpoint', async () => {
    const r = await run('consumerCheckpoints');
    expect(r.first).toEqual(range(1, 10));
    // Caught up past the event its filter skipped.
    expect(r.caughtUp).toEqual([expect.objectContaining({ name: 'mailer', position: 11, lag: 0, deadLetters: 0 })]);
    expect(r.lagging).toEqual([expect.objectContaining({ name: 'mailer', position: 11, lag: 5 })]);
    expect(r.second).toEqual(range(11, 15));
    expect(r.final).toEqual([expect.objectContaining({ name: 'mailer', position: 16, lag: 0 })]);
    expect(r.state).toBe('running');
    expect(r.stoppedState).toBe('stopped');
    expect(r.late).toEqual([99]);
  });

  it('retries with backoff, dead-letters an event after the retries, and can stop there instead', async () => {
    const r = await run('deadLetters');
    expect(r.attempts).toEqual({ 1: [1], 2: [1, 2, 3], 3: [1, 2, 3], 4: [1] });
    expect(r.done).toEqual([1, 2, 4]);
    expect(r.report).toEqual([expect.objectContaining({ name: 'worker', position: 4, lag: 0, deadLetters: 1 })]);
    expect(r.letters).toEqual([
      expect.objectContaining({ consumer: 'worker', position: 3, attempts: 3, error: 'TypeError: cannot do job 3' }),
    ]);
    expect(r.stopError?.message).toBe('stop here');
    expect(r.stopperState).toBe('stopped');
    expect(r.afterStop).toMatchObject({ position: 2, deadLetters: 1 });
    expect(r.allLetters.map((l) => [l.consumer, l.position, l.attempts])).toEqual([
      ['worker', 3, 3],
      ['stopper', 3, 2],
    ]);
  });

  it('hands a consumer over to a waiting instance without a gap or a duplicate', async () => {
    const r = await run('consumerHandover');
    expect(r.statesWhileA).toEqual(['running', 'waiting']);
    expect(r.seenA).toEqual([1, 2, 3, 4]);
    // A finished event 4 (stop waits for the event in hand), so B starts at 5.
    expect(r.seenB).toEqual([5, 6, 7, 8]);
    expect(r.statesAfter).toEqual(['stopped', 'running']);
    expect(r.report).toEqual([expect.objectContaining({ name: 'single', position: 8, lag: 0 })]);
  });

  it('rebuilds a projection after a version bump into the same rows as the incremental run', async () => {
    const r = await run('projectionRebuild');
    expect(r.status1.map((p) => [p.name, p.version, p.state, p.position])).toEqual([
      ['cart_totals', 1, 'ready', 120],
      ['type_counts', 1, 'ready', 120],
    ]);
    // cart-a was cleared at event 61 and filled again after.
    expect(r.incremental.map((c) => c.id)).toEqual(['cart-a', 'cart-b', 'cart-c', 'cart-d']);
    expect(r.incremental[0]!.items).toBe(r.fromLog[0]!.items);
    expect(r.rebuilt.filter((c) => c.id !== 'cart-e')).toEqual(r.incremental);
    expect(r.rebuilt.find((c) => c.id === 'cart-e')).toEqual({ id: 'cart-e', items: 20, qty: 40 });
    expect(r.rebuilt).toEqual(r.fromLog);
    // type_counts kept its version: not rebuilt, and kept in step by the racing appends.
    expect(r.rebuiltTypes).toEqual(
      (r.incrementalTypes as { type: string; n: number }[]).map((t) => (t.type === 'ItemAdded' ? { ...t, n: t.n + 20 } : t)),
    );
    expect(r.status2.map((p) => [p.name, p.version, p.state, p.position])).toEqual([
      ['cart_totals', 2, 'ready', 140],
      ['type_counts', 1, 'ready', 140],
    ]);
    const building = r.progress.filter((p) => p.name === 'cart_totals');
    expect(building.length).toBeGreaterThan(1); // built in several batches
    expect(building.at(-1)).toMatchObject({ state: 'ready', position: 140 });
    const positions = building.map((p) => p.position);
    expect(positions).toEqual([...positions].sort((a, b) => a - b));
  });

  it('PROJECTION_FAILED rolls back exactly one append of a group commit', async () => {
    const r = await run('projectionFailed');
    expect(r.statuses).toEqual(['fulfilled', 'rejected', 'fulfilled']);
    expectError(r.failure, 'PROJECTION_FAILED');
    expect(r.failure!.fields.projection).toBe('cart_totals');
    expect(r.carts).toEqual([
      { id: 'cart-a', items: 1, qty: 1 },
      { id: 'cart-b', items: 1, qty: 2 },
      { id: 'cart-d', items: 1, qty: 4 },
    ]);
    // type_counts ran for cart-c's first event too, inside the same savepoint: rolled back with it.
    expect(r.types).toEqual([{ type: 'ItemAdded', n: 3 }]);
    expect(r.streamC).toBe(0);
    expect(r.log).toEqual([
      [1, 'cart-a'],
      [2, 'cart-b'],
      [3, 'cart-d'],
    ]);
    expectError(r.alone, 'PROJECTION_FAILED');
    expect(r.head).toBe(3);
  });

  it('query reads projections and the log, and refuses every write with READ_ONLY_QUERY', async () => {
    const r = await run('readOnlyQuery');
    expect(r.reads.projection).toEqual([{ id: 'cart-a', qty: 5 }]);
    expect(r.reads.events).toEqual([{ position: 1, stream: 'cart-a', type: 'ItemAdded' }]);
    expect(r.reads.joined).toEqual([{ type: 'ItemAdded', qty: 5 }]);
    expect(r.reads.cte).toEqual([{ x: 1 }, { x: 2 }, { x: 3 }]);
    expect(r.reads.pragmaRead).toBe(3);
    expect(r.reads.trailingSemicolon).toEqual([{ n: 1 }]);
    for (const [what, c] of Object.entries(r.refused)) {
      expect(c, what).not.toBeNull();
      expect(c!.code, what).toBe('READ_ONLY_QUERY');
      expect(c!.isOwnClass, what).toBe(true);
    }
    for (const [what, c] of Object.entries(r.invalid)) expect(c?.code, what).toBe('INVALID_ARGUMENT');
    // A read-only PRAGMA is allowed, and reads the schema version this code writes.
    expect(r.after).toEqual({ carts: [{ id: 'cart-a', qty: 5 }], events: 1, userVersion: SCHEMA_VERSION });
    expect(r.appendStillWorks).toBe(2);
  });

  it('watch fires after a commit that touched its tables, and not after another', async () => {
    const r = await run('watchTables');
    expect(r.cartCalls).toEqual([
      [],
      [{ id: 'cart-a', items: 1, qty: 2 }],
      [
        { id: 'cart-a', items: 1, qty: 2 },
        { id: 'cart-b', items: 1, qty: 3 },
      ],
    ]);
    const note = [{ type: 'Note', n: 1 }];
    expect(r.typeCalls).toEqual([[], [], note, note, note]);
    expect(r.countCalls).toEqual([0, 1, 2, 3, 4]);
    expectError(r.failure, 'READ_ONLY_QUERY');
    expect(r.closed).toEqual([true, true, true]);
  });
}
