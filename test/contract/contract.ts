/**
 * The contract: what every target (in-process Node, the worker on OPFS, memory in a
 * browser...) must do with the scenarios of `scenarios.ts`.
 */
import { expect, it as vitestIt } from 'vitest';
import type { Caught, ScenarioName, scenarios } from './scenarios.ts';

type Results = { [K in ScenarioName]: Awaited<ReturnType<(typeof scenarios)[K]>> };

/** Runs a scenario on the target and returns what it returned. */
export type RunScenario = <K extends ScenarioName>(name: K) => Promise<Results[K]>;

function expectError(c: Caught | null, code: string): void {
  expect(c, `expected ${code}`).not.toBeNull();
  expect(c!.code).toBe(code);
  expect(c!.isCairnError).toBe(true);
  expect(c!.isOwnClass).toBe(true);
  expect(c!.message.length).toBeGreaterThan(10);
}

/** How a test is declared: Vitest's `it` by default; Playwright Test's `test` has the same shape. */
export type DefineTest = (name: string, body: () => Promise<void>) => void;

/** Declares the contract's tests against one target. */
export function defineContract(run: RunScenario, expected: { storage: string }, it: DefineTest = vitestIt): void {
  it('appends atomically and reads a stream back in order', async () => {
    const r = await run('appendAndRead');
    expect(r.storage).toBe(expected.storage);
    expect(r.role).toBe('leader');
    expect(r.first).toMatchObject({ stream: 'cart-42', version: 2, position: 2 });
    expect(r.first.ids).toHaveLength(2);
    expect(r.first.ids[0]! < r.first.ids[1]!).toBe(true);
    expect(r.second).toMatchObject({ stream: 'cart-42', version: 3, position: 3 });
    expect(r.other).toMatchObject({ stream: 'inventory', version: 1, position: 4 });
    expect(r.head).toBe(4);
    expect(r.events.map((e) => [e.version, e.position, e.type])).toEqual([
      [1, 1, 'ItemAdded'],
      [2, 2, 'ItemAdded'],
      [3, 3, 'CheckedOut'],
    ]);
    const [e1, , e3] = r.events;
    expect(e1).toMatchObject({
      id: r.first.ids[0],
      stream: 'cart-42',
      category: 'cart',
      data: { sku: 'A1', qty: 2 },
      metadata: { correlationId: 'c1' },
      routingKey: 'eu',
      schemaVersion: 1,
    });
    expect(typeof e1!.timestamp).toBe('number');
    expect(Math.abs(e1!.timestamp - Date.now())).toBeLessThan(60_000);
    expect(e3).toMatchObject({ data: null, metadata: {}, routingKey: null });
  });

  it('checks expected versions and reports conflicts with stream, expected and actual', async () => {
    const r = await run('versionConflicts');
    expectError(r.conflicts.noStream, 'VERSION_CONFLICT');
    expect(r.conflicts.noStream!.fields).toEqual({ stream: 'order-1', expected: 'no_stream', actual: 1 });
    expect(r.conflicts.exact!.fields).toEqual({ stream: 'order-1', expected: 5, actual: 1 });
    expect(r.conflicts.streamExists!.fields).toEqual({ stream: 'order-2', expected: 'stream_exists', actual: 0 });
    expect(r.conflicts.zeroOnExisting!.fields).toEqual({ stream: 'order-1', expected: 0, actual: 1 });
    expect(r.accepted.exact.version).toBe(2);
    expect(r.accepted.exists.version).toBe(3);
    expect(r.accepted.zeroOnEmpty.version).toBe(1);
    // The rejected appends wrote nothing.
    expect(r.versions).toEqual([
      [1, 'Placed'],
      [2, 'Paid'],
      [3, 'Shipped'],
    ]);
    expect(r.order2Length).toBe(0);
  });

  it('commits appendMany across streams all or nothing', async () => {
    const r = await run('appendManyAtomic');
    expectError(r.failure, 'VERSION_CONFLICT');
    expect(r.afterFailure).toEqual({ a: 0, b: 1, head: 1 });
    expect(r.results.map((x) => [x.stream, x.version, x.position])).toEqual([
      ['a-1', 2, 3],
      ['b-1', 2, 4],
      ['a-1', 3, 5],
    ]);
    expect(r.all).toEqual([
      [1, 'b-1', 1, 'Seed'],
      [2, 'a-1', 1, 'One'],
      [3, 'a-1', 2, 'Two'],
      [4, 'b-1', 2, 'Three'],
      [5, 'a-1', 3, 'Four'],
    ]);
  });

  it('treats a re-sent append with the same ids as a retry, and a reused id as a duplicate', async () => {
    const r = await run('idempotentAppend');
    expect(r.retry).toEqual(r.first);
    expect(r.lowerCaseRetry).toEqual(r.first);
    expect(r.stored).toEqual(r.first.ids);
    expectError(r.elsewhere, 'DUPLICATE_EVENT_ID');
    expect(r.elsewhere!.fields.id).toBe(r.first.ids[0]);
    expectError(r.partial, 'DUPLICATE_EVENT_ID');
    expectError(r.withinOneAppend, 'DUPLICATE_EVENT_ID');
    expect(r.payment2).toBe(0);
    expect(r.payment3).toBe(0);
    expect(r.head).toBe(2);
  });

  it('rejects malformed events with INVALID_EVENT and writes nothing', async () => {
    const r = await run('invalidEvents');
    for (const [what, c] of Object.entries(r.errors)) {
      const code = what === 'badExpectedVersion' ? 'INVALID_ARGUMENT' : 'INVALID_EVENT';
      expect(c, what).not.toBeNull();
      expect(c!.code, what).toBe(code);
      expect(c!.isOwnClass, what).toBe(true);
    }
    expect(r.errors.cycle!.message).toMatch(/cycle/);
    expect(r.errors.bigint!.message).toMatch(/bigint/);
    expect(r.errors.tooLarge!.message).toMatch(/limit of 1024/);
    expect(r.errors.function!.fields.index).toBe(1);
    expect(r.events).toEqual(['Ok', 'Fits']);
    expect(r.head).toBe(2);
  });

  it('rejects bad stream names with INVALID_STREAM', async () => {
    const r = await run('invalidStreams');
    for (const [what, c] of Object.entries(r.errors)) {
      expect(c, what).not.toBeNull();
      expect(c!.code, what).toBe('INVALID_STREAM');
      expect(c!.isOwnClass, what).toBe(true);
    }
    expect(r.longest).toBe(1);
    expect(r.unicode).toBe(1);
    expect(r.head).toBe(2);
  });

  it('finishes acknowledged writes on close, then fails with STORE_CLOSED', async () => {
    const r = await run('closedStore');
    expect(r.acknowledged).toBe(1);
    expectError(r.append, 'STORE_CLOSED');
    expectError(r.read, 'STORE_CLOSED');
    expect(r.closeAgain).toBeNull();
  });

  it('reads a stream forward, backward, from a version and with a limit', async () => {
    const r = await run('readStreamOptions');
    expect(r.all).toEqual([1, 2, 3, 4, 5, 6, 7, 8, 9, 10]);
    expect(r.from4).toEqual([4, 5, 6, 7, 8, 9, 10]);
    expect(r.from4limit3).toEqual([4, 5, 6]);
    expect(r.backward).toEqual([10, 9, 8]);
    expect(r.backwardFrom5).toEqual([5, 4, 3, 2, 1]);
    expect(r.missing).toEqual([]);
    expect(r.data).toBe(9);
  });

  it('pages the global log Relay-style, with every filter alone and combined', async () => {
    const r = await run('pagedReads');
    const all = Array.from({ length: 30 }, (_, i) => i + 1);
    expect(r.forward).toEqual(all);
    expect(r.backward).toEqual(all);
    // first page: next, no previous; then next+previous...; last: no next.
    expect(r.forwardInfo.slice(0, 2)).toEqual([true, false]);
    expect(r.forwardInfo.slice(-2)).toEqual([false, true]);
    expect(r.firstPageInfo).toBe('true,false');
    expect(r.middle).toEqual({ positions: [6, 7, 8, 9, 10], next: true, previous: true });
    expect(r.lastPage).toEqual({ positions: [26, 27, 28, 29, 30], next: false, previous: true });
    const where = (pred: (i: number) => boolean) => all.filter((p) => pred(p - 1));
    const type = (i: number) => ['Added', 'Removed', 'Paid'][i % 3];
    expect(r.filters.stream).toEqual(where((i) => i % 5 === 1));
    expect(r.filters.category).toEqual(where((i) => i % 5 >= 3));
    expect(r.filters.oneType).toEqual(where((i) => type(i) === 'Paid'));
    expect(r.filters.twoTypes).toEqual(where((i) => type(i) !== 'Added'));
    expect(r.filters.twoTypesPaged).toEqual(where((i) => type(i) !== 'Added' && i >= 5).slice(0, 5));
    expect(r.filters.twoTypesBackward).toEqual(where((i) => type(i) !== 'Added').slice(-3));
    expect(r.filters.routingKey).toEqual(where((i) => i % 2 === 1));
    expect(r.filters.categoryAndType).toEqual(where((i) => i % 5 < 3 && type(i) === 'Added'));
    expect(r.filters.categoryTypesRouting).toEqual(
      where((i) => i % 5 < 3 && type(i) !== 'Removed' && i % 2 === 1),
    );
    expect(r.filters.streamAndType).toEqual(where((i) => i % 5 === 3 && type(i) === 'Paid'));
    expect(r.filters.streamPaged).toEqual(where((i) => i % 5 === 0 && i >= 5).slice(0, 2));
    expect(r.filters.nothing).toEqual([]);
    expectError(r.cursorErrors.garbage, 'INVALID_ARGUMENT');
    expectError(r.cursorErrors.both, 'INVALID_ARGUMENT');
    expectError(r.cursorErrors.tooBig, 'INVALID_ARGUMENT');
    expect(r.emptyPageInfo).toEqual({ hasNextPage: false, hasPreviousPage: false, startCursor: null, endCursor: null });
    expect(r.cursorIsOpaque).toBe(true);
  });

  it('iterates events in global order with filters and a start position', async () => {
    const r = await run('eventsIterator');
    const all = Array.from({ length: 23 }, (_, i) => i);
    expect(r.all).toEqual(all);
    expect(r.odd).toEqual(all.filter((i) => i % 2 === 1));
    expect(r.fromPosition).toEqual([20, 21, 22]);
    expect(r.stream).toEqual(all.filter((i) => i % 3 === 1));
  });

  it('group-commits 500 unawaited appends, each acknowledged in order and visible to the read after it', async () => {
    const r = await run('groupCommit');
    expect(r.positions).toEqual(Array.from({ length: 500 }, (_, i) => i + 1));
    expect(r.versions).toEqual(Array.from({ length: 500 }, (_, i) => Math.floor(i / 10) + 1));
    expect(r.readsSawTheirAppend).toBe(true);
    expect(r.log).toEqual(Array.from({ length: 500 }, (_, i) => i));
    // Grouped: far fewer transactions than appends (one each would be 500 commits).
    expect(r.commits).toBeGreaterThan(0);
    expect(r.commits).toBeLessThanOrEqual(100);
  });
}
