/**
 * The leader as a trust boundary in Chromium: a runaway query from a follower tab is cut off
 * with QUERY_TIMEOUT, after which the leader serves both tabs again, and forged requests posted
 * straight to the leader's BroadcastChannel inbox (as any same-origin script could) each get
 * their typed error, write nothing, and leave the store serving.
 */
import { expect, test } from '../fixtures.ts';

const RUNAWAY = 'WITH RECURSIVE c(x) AS (SELECT 1 UNION ALL SELECT x + 1 FROM c) SELECT count(*) FROM c';

test('a runaway query from a follower tab ends with QUERY_TIMEOUT, the leader tab is served no later than that, and both tabs after', async ({ openPage }) => {
  const name = `hostile-runaway-${Date.now()}`;
  const leader = await openPage();
  expect((await leader.evaluate((n) => window.cairnTest.open(n), name)).role).toBe('leader');
  const follower = await openPage();
  expect((await follower.evaluate((n) => window.cairnTest.open(n), name)).role).toBe('follower');

  const runaway = follower.evaluate(async ([n, sql]) => {
    const started = performance.now();
    try {
      await window.cairnTest.stores.get(n)!.query(sql, [], { timeoutMs: 1_500 });
      return { code: 'ok', ms: performance.now() - started };
    } catch (e) {
      return { code: String((e as { code?: string }).code), ms: performance.now() - started };
    }
  }, [name, RUNAWAY] as const);
  // While it runs, the leader's own tab appends and reads.
  const during = await leader.evaluate(async (n) => {
    const store = window.cairnTest.stores.get(n)!;
    const started = performance.now();
    const appended = await store.append('during-1', [{ type: 'Noted', data: { at: 'during' } }]);
    const read = (await store.readStream('during-1')).length;
    return { position: appended.position, read, ms: performance.now() - started };
  }, name);
  expect({ position: during.position, read: during.read }).toEqual({ position: 1, read: 1 });

  const result = await runaway;
  expect(result.code).toBe('QUERY_TIMEOUT');
  // The query ran for its budget. The engine runs one statement at a time, so the leader's
  // own calls may wait for the interrupt, but not past it (they started after the query).
  expect(result.ms).toBeGreaterThanOrEqual(1_400);
  expect(during.ms).toBeLessThan(result.ms + 1_000);
  // After it, the follower is served too, through the same leader.
  const after = await follower.evaluate(async (n) => {
    const store = window.cairnTest.stores.get(n)!;
    await store.append('after-1', [{ type: 'Noted', data: { at: 'after' } }]);
    return { head: await store.head(), rows: await store.query('SELECT count(*) AS n FROM events') };
  }, name);
  expect(after).toEqual({ head: 2, rows: [{ n: 2 }] });
});

test('forged requests posted to the leader inbox get typed errors, write nothing, and the leader goes on serving', async ({ openPage }) => {
  const name = `hostile-inbox-${Date.now()}`;
  const leader = await openPage();
  expect((await leader.evaluate((n) => window.cairnTest.open(n), name)).role).toBe('leader');
  const intruder = await openPage();
  const codes = await intruder.evaluate((n) => window.cairnTest.forgeToLeader(n), name);
  expect(codes).toEqual({
    'data that is not JSON': 'INVALID_EVENT',
    'metadata that is an array': 'INVALID_EVENT',
    "schemaVersion 'x'": 'INVALID_EVENT',
    'an id that is not a ULID': 'INVALID_EVENT',
    'a routing key that is a number': 'INVALID_ARGUMENT',
    'a stream with a lone surrogate': 'INVALID_STREAM',
    'no arguments': 'INVALID_ARGUMENT',
    'args that are not a list': 'INVALID_ARGUMENT',
    'a consumer opened': 'ok',
    'a consumer moved past the head': 'INVALID_ARGUMENT',
    "the sync runner's own applyPulled": 'INVALID_ARGUMENT',
    "the sync runner's own outboxPushed": 'INVALID_ARGUMENT',
    'an operation that does not exist': 'INVALID_ARGUMENT',
    'a query that writes': 'READ_ONLY_QUERY',
    'a query that never ends': 'QUERY_TIMEOUT',
    'a good append afterwards': 'ok',
  });
  // Only the good append is in the log, and the leader's tab still appends.
  const log = await leader.evaluate(async (n) => {
    const store = window.cairnTest.stores.get(n)!;
    await store.append('mine-1', [{ type: 'Noted', data: {} }]);
    const all = [];
    for await (const e of store.events()) all.push([e.stream, e.type, e.position]);
    return all;
  }, name);
  expect(log).toEqual([
    ['forged-1', 'Forged', 1],
    ['mine-1', 'Noted', 2],
  ]);
});
