/**
 * Scenarios of subscriptions, durable consumers, projections, query and watch. Like
 * `scenarios.ts`, each drives the public API and returns plain data, so the same scenario
 * runs in Node (in-process) and in a browser page (through the worker on OPFS), and
 * `live-contract.ts` asserts the same things of both.
 */
import type { Store } from '../../src/client/index.ts';
import { caught } from './scenarios.ts';
import type { ProjectionSetName } from './test-projections.ts';

/** What a live scenario gets from its target. */
export interface LiveContext {
  /** Opens a store; opening a name again after closing it reopens the same database. */
  open(name: string, projections?: ProjectionSetName): Promise<Store>;
  /** A store name no other scenario uses. */
  fresh(prefix: string): string;
}

/** Polls until `check` is true: a wait, not a timing assertion (the test's timeout bounds it). */
export async function until(check: () => boolean | Promise<boolean>): Promise<void> {
  while (!(await check())) await new Promise((r) => setTimeout(r, 5));
}

type Cart = { id: string; items: number; qty: number };

/** The scenarios by name. */
export const liveScenarios = {
  /** 200 stored events, then a subscription that catches up while 1,000 appends race it. */
  async subscriptionRace({ open, fresh }: LiveContext) {
    const store = await open(fresh('race'));
    for (let i = 0; i < 200; i += 50) {
      await store.appendMany([{ stream: `pre-${i}`, events: Array.from({ length: 50 }, (_, j) => ({ type: (i + j) % 2 ? 'Odd' : 'Even', data: { i: i + j } })) }]);
    }
    const all: number[] = [];
    const data: number[] = [];
    const even: number[] = [];
    let inFlight = 0;
    let maxInFlight = 0;
    const sub = store.subscribe(
      {},
      async (e) => {
        inFlight++;
        maxInFlight = Math.max(maxInFlight, inFlight);
        // Yield now and then, so appends and notices interleave with handler calls.
        if (e.position % 7 === 0) await new Promise((r) => setTimeout(r, 0));
        all.push(e.position);
        data.push((e.data as { i: number }).i);
        inFlight--;
      },
      { from: 'start', batchSize: 64 },
    );
    const evenSub = store.subscribe({ types: ['Even'] }, (e) => void even.push((e.data as { i: number }).i), { batchSize: 16 });
    let fromEnd: number[] | undefined;
    let endSub: { close(): void } | undefined;
    const appends = [];
    for (let i = 200; i < 1200; i++) {
      appends.push(store.append(`race-${i % 10}`, [{ type: i % 2 ? 'Odd' : 'Even', data: { i } }]));
      if (i === 700) {
        // A subscription from the end, started in the middle of the race.
        const seen: number[] = [];
        fromEnd = seen;
        endSub = store.subscribe({}, (e) => void seen.push((e.data as { i: number }).i), { from: 'end' });
      }
    }
    await Promise.all(appends);
    await until(() => all.length >= 1200 && even.length >= 600);
    // Anything extra would show up now.
    await store.append('race-end', [{ type: 'Done', data: { i: 1200 } }]);
    await until(() => all.length >= 1201 && (fromEnd ?? []).at(-1) === 1200);
    endSub?.close();
    sub.close();
    evenSub.close();
    await sub.done;
    const afterClose = all.length;
    await store.append('race-end', [{ type: 'Late', data: { i: 1201 } }]);
    const head = await store.head();
    await store.close();
    return {
      all,
      data,
      even,
      fromEnd: fromEnd ?? [],
      maxInFlight,
      afterClose,
      allAfter: all.length,
      subPosition: sub.position,
      subClosed: sub.closed,
      head,
    };
  },

  /** The async-iterator form, a throwing handler, and an abort signal. */
  async streamsAndErrors({ open, fresh }: LiveContext) {
    const store = await open(fresh('stream'));
    for (let i = 1; i <= 5; i++) await store.append('s-1', [{ type: 'N', data: i }]);
    // for await: catch up, then a live event, then break.
    const streamed: unknown[] = [];
    const controller = new AbortController();
    const appendLater = (async () => {
      await until(() => streamed.length >= 5);
      await store.append('s-1', [{ type: 'N', data: 6 }]);
    })();
    for await (const e of store.stream({ stream: 's-1' }, { signal: controller.signal })) {
      streamed.push(e.data);
      if (streamed.length === 6) break;
    }
    await appendLater;
    // An aborted stream ends its loop quietly.
    const aborted: unknown[] = [];
    const loop = (async () => {
      for await (const e of store.stream({}, { from: 3, signal: controller.signal })) {
        aborted.push(e.data);
        if (aborted.length === 3) controller.abort();
      }
    })();
    await loop;
    // A handler that throws stops its subscription at that event.
    const handled: number[] = [];
    const sub = store.subscribe({}, (e) => {
      if (e.data === 3) throw new Error('no threes');
      handled.push(e.data as number);
    });
    const failure = await caught(() => sub.done);
    // A signal closes a subscription.
    const signalled = new AbortController();
    const viaSignal: unknown[] = [];
    const sub2 = store.subscribe({}, (e) => {
      viaSignal.push(e.data);
      if (viaSignal.length === 2) signalled.abort();
    }, { signal: signalled.signal });
    await sub2.done;
    // Closing the store ends the rest quietly.
    const sub3 = store.subscribe({}, () => {}, { from: 'end' });
    await store.close();
    await sub3.done;
    return {
      streamed,
      aborted,
      handled,
      failureMessage: failure?.message ?? null,
      position: sub.position,
      closed: sub.closed,
      viaSignal,
      sub2Closed: sub2.closed,
      sub3Closed: sub3.closed,
    };
  },

  /** A consumer processes, checkpoints, reports lag, stops, and resumes from its checkpoint. */
  async consumerCheckpoints({ open, fresh }: LiveContext) {
    const store = await open(fresh('consumer'));
    for (let i = 1; i <= 10; i++) await store.append(`order-${i % 3}`, [{ type: 'Placed', data: i }]);
    await store.append('other-1', [{ type: 'Ignored' }]);
    const first: unknown[] = [];
    const c1 = store.consumer('mailer', { category: 'order' }, (e) => void first.push(e.data));
    await until(async () => (await store.consumers())[0]?.position === 11);
    const caughtUp = await store.consumers();
    await c1.stop();
    for (let i = 11; i <= 15; i++) await store.append(`order-${i % 3}`, [{ type: 'Placed', data: i }]);
    const lagging = await store.consumers();
    const second: unknown[] = [];
    const c2 = store.consumer('mailer', { category: 'order' }, (e) => void second.push(e.data));
    await until(() => second.length >= 5);
    await until(async () => (await store.consumers())[0]?.lag === 0);
    const final = await store.consumers();
    const state = c2.state;
    await c2.stop();
    // A new consumer starting at the end sees nothing old.
    const late: unknown[] = [];
    const c3 = store.consumer('late', {}, (e) => void late.push(e.data), { from: 'end' });
    await until(async () => (await store.consumers()).some((c) => c.name === 'late'));
    await store.append('order-9', [{ type: 'Placed', data: 99 }]);
    await until(() => late.length >= 1);
    await c3.stop();
    await store.close();
    return { first, caughtUp, lagging, second, final, state, stoppedState: c2.state, late };
  },

  /** Retries with backoff, a dead letter after the last retry, and the `stop` policy. */
  async deadLetters({ open, fresh }: LiveContext) {
    const store = await open(fresh('dead'));
    await store.append('job-1', [{ type: 'Ok', data: 1 }, { type: 'Flaky', data: 2 }, { type: 'Bad', data: 3 }, { type: 'Ok', data: 4 }]);
    const attempts: Record<number, number[]> = {};
    const done: unknown[] = [];
    const c = store.consumer(
      'worker',
      {},
      (e, { attempt }) => {
        (attempts[e.position] ??= []).push(attempt);
        if (e.type === 'Bad') throw new TypeError(`cannot do job ${String(e.data)}`);
        if (e.type === 'Flaky' && attempt < 3) throw new Error('flaky');
        done.push(e.data);
      },
      { retries: 2, retryDelay: 1 },
    );
    await until(async () => (await store.consumers())[0]?.position === 4);
    await c.stop();
    const report = await store.consumers();
    const letters = await store.deadLetters('worker');
    // With onDeadLetter: 'stop', the consumer stops at the poison event, without moving past it.
    const stopper = store.consumer('stopper', {}, (e) => {
      if (e.type === 'Bad') throw new Error('stop here');
    }, { retries: 1, retryDelay: 1, onDeadLetter: 'stop' });
    const stopError = await caught(() => stopper.done);
    const afterStop = (await store.consumers()).find((x) => x.name === 'stopper');
    const allLetters = await store.deadLetters();
    await store.close();
    return { attempts, done, report, letters, stopError, stopperState: stopper.state, afterStop, allLetters };
  },

  /** Two instances of one consumer: one runs, the other waits, then takes over from the checkpoint. */
  async consumerHandover({ open, fresh }: LiveContext) {
    const store = await open(fresh('handover'));
    for (let i = 1; i <= 6; i++) await store.append('task-1', [{ type: 'Task', data: i }]);
    const seenA: number[] = [];
    const seenB: number[] = [];
    let releaseA!: () => void;
    const blockA = new Promise<void>((r) => (releaseA = r));
    const a = store.consumer('single', {}, async (e) => {
      seenA.push(e.position);
      if (e.position === 4) await blockA; // A is busy with event 4 when it is asked to stop
    });
    await until(() => a.state === 'running');
    const b = store.consumer('single', {}, (e) => void seenB.push(e.position));
    await until(() => seenA.length >= 4);
    const statesWhileA = [a.state, b.state];
    const stopping = a.stop();
    releaseA();
    await stopping;
    await until(() => seenB.includes(6));
    for (let i = 7; i <= 8; i++) await store.append('task-1', [{ type: 'Task', data: i }]);
    await until(() => seenB.includes(8));
    const statesAfter = [a.state, b.state];
    await b.stop();
    const report = await store.consumers();
    await store.close();
    return { seenA, seenB, statesWhileA, statesAfter, report };
  },

  /** Projections built during appends, then rebuilt from the log after a version bump, with appends racing the rebuild. */
  async projectionRebuild({ open, fresh }: LiveContext) {
    const name = fresh('projections');
    let store = await open(name, 'shop-v1');
    const carts = ['cart-a', 'cart-b', 'cart-c', 'cart-d'];
    const appends = [];
    for (let i = 0; i < 120; i++) {
      const stream = carts[i % 4]!;
      const type = i % 11 === 10 ? 'ItemRemoved' : i === 60 ? 'CartCleared' : 'ItemAdded';
      appends.push(store.append(stream, [{ type, data: { qty: (i % 5) + 1 } }]));
    }
    await Promise.all(appends);
    const incremental = await store.query<Cart>('SELECT id, items, qty FROM cart_totals ORDER BY id');
    const incrementalTypes = await store.query('SELECT type, n FROM type_counts ORDER BY type');
    const status1 = await store.projections();
    await store.close();

    store = await open(name, 'shop-v2');
    const progress: { name: string; state: string; position: number }[] = [];
    store.onProjectionProgress((p) => progress.push({ name: p.name, state: p.state, position: p.position }));
    // Appends racing the rebuild: none may be missed or counted twice.
    const racing = [];
    for (let i = 0; i < 20; i++) racing.push(store.append('cart-e', [{ type: 'ItemAdded', data: { qty: 2 } }]));
    await Promise.all(racing);
    await until(async () => (await store.projections()).every((p) => p.state === 'ready'));
    const rebuilt = await store.query<Cart>('SELECT id, items, qty FROM cart_totals ORDER BY id');
    const rebuiltTypes = await store.query('SELECT type, n FROM type_counts ORDER BY type');
    const status2 = await store.projections();
    // The same totals computed from the log itself.
    const expected = new Map<string, Cart>();
    for await (const e of store.events()) {
      const qty = (e.data as { qty: number }).qty;
      const c = expected.get(e.stream) ?? { id: e.stream, items: 0, qty: 0 };
      if (e.type === 'ItemAdded') expected.set(e.stream, { id: c.id, items: c.items + 1, qty: c.qty + qty });
      if (e.type === 'ItemRemoved') expected.set(e.stream, { id: c.id, items: c.items - 1, qty: c.qty - qty });
      if (e.type === 'CartCleared') expected.delete(e.stream);
    }
    const fromLog = [...expected.values()].sort((x, y) => (x.id < y.id ? -1 : 1));
    await store.close();
    return { incremental, incrementalTypes, status1, rebuilt, rebuiltTypes, status2, progress, fromLog };
  },

  /** A projection that throws fails only its own append of a group commit. */
  async projectionFailed({ open, fresh }: LiveContext) {
    const store = await open(fresh('poison'), 'shop-v1');
    await store.append('cart-a', [{ type: 'ItemAdded', data: { qty: 1 } }]);
    // Issued together, so they share one group commit.
    const results = await Promise.allSettled([
      store.append('cart-b', [{ type: 'ItemAdded', data: { qty: 2 } }]),
      store.append('cart-c', [{ type: 'ItemAdded', data: { qty: 3 } }, { type: 'Poison' }]),
      store.append('cart-d', [{ type: 'ItemAdded', data: { qty: 4 } }]),
    ]);
    const failure = await caught(async () => {
      const r = results[1]!;
      if (r.status === 'rejected') throw r.reason;
    });
    const statuses = results.map((r) => r.status);
    const carts = await store.query<Cart>('SELECT id, items, qty FROM cart_totals ORDER BY id');
    const types = await store.query('SELECT type, n FROM type_counts ORDER BY type');
    const streamC = (await store.readStream('cart-c')).length;
    const log = (await store.read({}, { first: 100 })).edges.map((e) => [e.node.position, e.node.stream]);
    const alone = await caught(() => store.append('cart-e', [{ type: 'Poison' }]));
    const head = await store.head();
    await store.close();
    return { statuses, failure, carts, types, streamC, log, alone, head };
  },

  /** store.query reads projection tables and the log; SQLite refuses every kind of write. */
  async readOnlyQuery({ open, fresh }: LiveContext) {
    const store = await open(fresh('query'), 'shop-v1');
    await store.append('cart-a', [{ type: 'ItemAdded', data: { qty: 5 } }]);
    const reads = {
      projection: await store.query('SELECT id, qty FROM cart_totals WHERE id = ?', ['cart-a']),
      events: await store.query('SELECT position, stream, type FROM events'),
      joined: await store.query(
        'SELECT e.type, c.qty FROM events e JOIN cart_totals c ON c.id = e.stream WHERE e.position = ?',
        [1],
      ),
      cte: await store.query('WITH RECURSIVE n(x) AS (SELECT 1 UNION ALL SELECT x + 1 FROM n WHERE x < 3) SELECT x FROM n'),
      pragmaRead: (await store.query('PRAGMA table_info(cart_totals)')).length,
      trailingSemicolon: await store.query('SELECT count(*) AS n FROM events; -- done'),
    };
    const refused = {
      insert: await caught(() => store.query("INSERT INTO cart_totals VALUES ('x', 1, 1)")),
      update: await caught(() => store.query('UPDATE cart_totals SET qty = 0')),
      delete: await caught(() => store.query('DELETE FROM events')),
      drop: await caught(() => store.query('DROP TABLE cart_totals')),
      attach: await caught(() => store.query("ATTACH DATABASE ':memory:' AS other")),
      pragmaWrite: await caught(() => store.query('PRAGMA user_version = 42')),
      pragmaSetting: await caught(() => store.query('PRAGMA journal_mode = DELETE')),
      multiStatement: await caught(() => store.query('SELECT 1; DELETE FROM events')),
      twoSelects: await caught(() => store.query('SELECT 1; SELECT 2')),
      createTemp: await caught(() => store.query('CREATE TEMP TABLE t (x)')),
      begin: await caught(() => store.query('BEGIN')),
      commit: await caught(() => store.query('COMMIT')),
      vacuum: await caught(() => store.query('VACUUM')),
      insertViaCte: await caught(() => store.query("WITH x AS (SELECT 1) INSERT INTO cart_totals SELECT 'y', 1, 1 FROM x")),
    };
    const invalid = {
      syntax: await caught(() => store.query('SELEC nothing')),
      noTable: await caught(() => store.query('SELECT * FROM nowhere')),
      params: await caught(() => store.query('SELECT ?', [])),
    };
    const after = {
      carts: await store.query('SELECT id, qty FROM cart_totals'),
      events: (await store.query<{ n: number }>('SELECT count(*) AS n FROM events'))[0]?.n,
      userVersion: (await store.query<{ user_version: number }>('PRAGMA user_version'))[0]?.user_version,
    };
    const appendStillWorks = (await store.append('cart-a', [{ type: 'ItemAdded', data: { qty: 1 } }])).version;
    await store.close();
    return { reads, refused, invalid, after, appendStillWorks };
  },

  /** watch runs again after commits that touched its tables, and not after others. */
  async watchTables({ open, fresh }: LiveContext) {
    const store = await open(fresh('watch'), 'shop-v1');
    const cartCalls: Cart[][] = [];
    const typeCalls: unknown[][] = [];
    const countCalls: number[] = [];
    const w1 = store.watch<Cart>('SELECT id, items, qty FROM cart_totals ORDER BY id', [], (rows) => void cartCalls.push(rows));
    const w2 = store.watch('SELECT type, n FROM type_counts WHERE type = ?', ['Note'], (rows) => void typeCalls.push(rows));
    const w3 = store.watch<{ n: number }>('SELECT count(*) AS n FROM events', [], ([row]) => void countCalls.push(row!.n));
    await until(() => cartCalls.length === 1 && typeCalls.length === 1 && countCalls.length === 1);
    // Relevant to cart_totals, type_counts (tables, not rows, are tracked) and the log.
    await store.append('cart-a', [{ type: 'ItemAdded', data: { qty: 2 } }]);
    await until(() => cartCalls.length === 2 && typeCalls.length === 2 && countCalls.length === 2);
    // Irrelevant to cart_totals: it writes only events and type_counts.
    await store.append('note-1', [{ type: 'Note' }]);
    await until(() => typeCalls.length === 3 && countCalls.length === 3);
    // A consumer's checkpoint touches neither.
    const c = store.consumer('counter', {}, () => {});
    await until(async () => (await store.consumers())[0]?.position === 2);
    await c.stop();
    // A round trip, so every notice so far has reached the watches.
    await store.head();
    const cartCallsBefore = cartCalls.length;
    await store.append('cart-b', [{ type: 'ItemAdded', data: { qty: 3 } }]);
    await until(() => cartCalls.length === cartCallsBefore + 1 && typeCalls.length === 4 && countCalls.length === 4);
    await store.head();
    const failing = store.watch('DELETE FROM events', [], () => {});
    const failure = await caught(() => failing.done);
    w1.close();
    await w1.done;
    await store.append('cart-c', [{ type: 'ItemAdded', data: { qty: 1 } }]);
    await until(() => typeCalls.length === 5 && countCalls.length === 5);
    await store.close();
    await Promise.all([w2.done, w3.done]);
    return { cartCalls, typeCalls, countCalls, failure, closed: [w1.closed, w2.closed, w3.closed] };
  },
} satisfies Record<string, (ctx: LiveContext) => Promise<unknown>>;

/** A live scenario's name. */
export type LiveScenarioName = keyof typeof liveScenarios;
