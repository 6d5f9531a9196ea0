/**
 * The election's interleavings, played out in Node with fake locks and real channels, where
 * the browser tests cannot choose the order of events: a leader that dies holding a call, a
 * late answer, a stale announcement, a closing follower, a closing leader.
 */
import { afterEach, describe, expect, it } from 'vitest';
import { openStore } from '../../src/client/index.ts';
import { ErrorCode, isCairnError, isNoLeader } from '../../src/core/errors.ts';
import type { EngineOp, Role } from '../../src/protocol/api.ts';
import {
  inboxChannelName,
  leaderLockName,
  storeChannelName,
  storeLockName,
  type ForwardedBatch,
  type ForwardedRequest,
  type TabMessage,
} from '../../src/protocol/tabs.ts';
import { joinTabs, type LeaderServer, type Tabs } from '../../worker/tabs/index.ts';
import { FakeOrigin } from './fake-tabs.ts';

let origin: FakeOrigin;
let joined: Tabs[] = [];
let n = 0;

afterEach(async () => {
  origin?.kill('test');
  await Promise.allSettled(joined.map((t) => t.close()));
  origin?.closeAll();
  joined = [];
});

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** A fresh origin and store name; the test's own hands hold the store lock when asked. */
function setup(): string {
  origin = new FakeOrigin();
  return `store-${n++}`;
}

interface Worker {
  tabs: Tabs;
  roles: Role[];
  pushes: [string, unknown][];
  opened: number;
}

/** A real worker's election, whose leader side is `server` (or refuses to open). */
function worker(store: string, id: string, server?: (id: string) => LeaderServer, leaderTimeout = 2000): Worker {
  const w: Worker = { tabs: undefined as unknown as Tabs, roles: [], pushes: [], opened: 0 };
  w.tabs = joinTabs({
    name: store,
    leaderTimeout,
    platform: origin.platform(id),
    openLeader: async () => {
      w.opened++;
      if (server === undefined) throw new Error(`${id} may not lead in this test`);
      return server(id);
    },
    onRoleChange: (role) => w.roles.push(role),
    onLeader: () => {},
    onPush: (push, data) => w.pushes.push([push, data]),
  });
  joined.push(w.tabs);
  return w;
}

/**
 * A leader side that answers `${worker}:${op}:${first arg}` after `delay` ms, and, like the
 * engine, finishes what it has taken before its close resolves.
 */
function echoServer(log: string[] = [], delay = 0, calls: string[] = []): (id: string) => LeaderServer {
  return (id) => {
    const taken = new Set<Promise<unknown>>();
    return {
      storage: 'memory',
      call(op: EngineOp, args: unknown[]) {
        calls.push(`${id}:${op}:${String(args[0])}`);
        const answer = sleep(delay).then(() => `${id}:${op}:${String(args[0])}`);
        taken.add(answer);
        return answer;
      },
      head: async () => 0,
      async close() {
        await Promise.all(taken);
        log.push(`${id} closed`);
      },
    };
  };
}

/** A leader played by hand: holds its lock, announces itself, reads its inbox. */
async function handLeader(store: string, id: string) {
  const release = await origin.hold(id, leaderLockName(id));
  const inbox = origin.channel(id, inboxChannelName(store, id)).collect();
  const announce = origin.channel(id, storeChannelName(store));
  announce.postMessage({ kind: 'leader', leader: id, storage: 'opfs', head: 0 } satisfies TabMessage);
  return {
    inbox,
    nextRequest: () => inbox.next() as Promise<ForwardedRequest>,
    reply(to: string, reqId: number, result: unknown) {
      origin.channel(id, inboxChannelName(store, to)).postMessage({ kind: 'reply', to, id: reqId, ok: true, result } satisfies TabMessage);
    },
    /** Gone without a word, as a killed tab. */
    die: () => {
      release();
      origin.kill(id);
    },
  };
}

describe('tabs: election and forwarding', () => {
  it("sends a follower's calls of one turn as one message, and takes the answers of one turn as one", async () => {
    const store = setup();
    await origin.hold('test', storeLockName(store));
    const f = worker(store, 'F');
    const hand = await handLeader(store, 'L');
    expect((await f.tabs.ready).role).toBe('follower');
    const calls = Array.from({ length: 50 }, (_, i) => f.tabs.call('readStream', [`s-${i}`]));
    const batch = (await hand.inbox.next()) as ForwardedBatch;
    expect(batch).toMatchObject({ kind: 'batch', from: 'F', to: 'L' });
    expect(batch.requests.map((r) => r.args[0])).toEqual(Array.from({ length: 50 }, (_, i) => `s-${i}`));
    const replies = batch.requests.map((r) => ({ kind: 'reply' as const, id: r.id, ok: true as const, result: `got ${String(r.args[0])}` }));
    origin.channel('L', inboxChannelName(store, 'F')).postMessage({ kind: 'replies', to: 'F', replies } satisfies TabMessage);
    expect(await Promise.all(calls)).toEqual(Array.from({ length: 50 }, (_, i) => `got s-${i}`));
    expect(hand.inbox.all).toHaveLength(1);
  });

  it("answers a follower's batch as one message to its inbox, each request checked alone", async () => {
    const store = setup();
    // Answers at once, so the answers of one batch settle in one turn, as a group commit's do.
    const instant = (id: string): LeaderServer => ({
      storage: 'memory',
      call: (op: EngineOp, args: unknown[]) => Promise.resolve(`${id}:${op}:${String(args[0])}`),
      head: async () => 0,
      close: async () => {},
    });
    const leader = worker(store, 'W', instant);
    expect((await leader.tabs.ready).role).toBe('leader');
    const inbox = origin.channel('R', inboxChannelName(store, 'R')).collect();
    const requests = [
      { kind: 'request', id: 1, op: 'readStream', args: ['a'] },
      { kind: 'request', id: 2, op: 'close', args: [] },
      'junk',
      { kind: 'request', id: 3, op: 'head', args: [] },
      { kind: 'request', id: 4, op: 'readStream', args: ['b'] },
    ];
    origin.channel('R', inboxChannelName(store, 'W')).postMessage({ kind: 'batch', from: 'R', to: 'W', requests });
    const answer = (await inbox.next()) as { kind: string; to: string; replies: { id: number; ok: boolean; result?: unknown; error?: { code: string } }[] };
    expect(answer).toMatchObject({ kind: 'replies', to: 'R' });
    expect(answer.replies.map((r) => [r.id, r.ok ? r.result : r.error!.code])).toEqual([
      [1, 'W:readStream:a'],
      [2, 'INVALID_ARGUMENT'],
      [3, 'W:head:undefined'],
      [4, 'W:readStream:b'],
    ]);
    await sleep(20);
    expect(inbox.all).toHaveLength(1);
  });

  it('re-sends a call whose leader died holding it; a late answer from the old leader is dropped', async () => {
    const store = setup();
    // The test holds the store's lock, so the follower can never promote itself here.
    await origin.hold('test', storeLockName(store));
    const f = worker(store, 'F');
    const l1 = await handLeader(store, 'L1');
    expect((await f.tabs.ready).role).toBe('follower');

    const call = f.tabs.call('head', []);
    const first = await l1.nextRequest();
    expect(first).toMatchObject({ kind: 'request', from: 'F', to: 'L1', op: 'head' });

    const late = origin.channel('L1-ghost', inboxChannelName(store, 'F'));
    l1.die();
    const l2 = await handLeader(store, 'L2');
    const again = await l2.nextRequest();
    expect(again).toMatchObject({ from: 'F', to: 'L2', id: first.id, op: 'head' });
    l2.reply('F', again.id, 'from L2');
    expect(await call).toBe('from L2');

    // The old leader's answer arrives after all: nothing is pending under that id any more.
    late.postMessage({ kind: 'reply', to: 'F', id: first.id, ok: true, result: 'from L1' } satisfies TabMessage);
    const next = f.tabs.call('head', []);
    const third = await l2.nextRequest();
    expect(third.id).not.toBe(first.id);
    l2.reply('F', third.id, 'second call');
    expect(await next).toBe('second call');
  });

  it('reads an announcement from a leader already gone as gone, and finds the real one by hello', async () => {
    const store = setup();
    await origin.hold('test', storeLockName(store));
    // The real leader serves but will not announce itself unasked...
    const releaseL2 = await origin.hold('L2', leaderLockName('L2'));
    const l2Inbox = origin.channel('L2', inboxChannelName(store, 'L2')).collect();
    const l2Store = origin.channel('L2', storeChannelName(store)).collect();
    const f = worker(store, 'F');
    // ...and a stale announcement of a dead leader reaches F.
    origin.channel('ghost', storeChannelName(store)).postMessage({ kind: 'leader', leader: 'L0', storage: 'opfs', head: 0 } satisfies TabMessage);
    await f.tabs.ready;
    // F's hellos reach L2 (one at start, one once L0 turned out gone); L2 answers in F's inbox.
    await expect.poll(() => l2Store.all.filter((m) => (m as TabMessage).kind === 'hello').length).toBe(2);
    origin.channel('L2', inboxChannelName(store, 'F')).postMessage({ kind: 'leader', leader: 'L2', storage: 'opfs', head: 0 } satisfies TabMessage);
    const call = f.tabs.call('readStream', ['s-1']);
    const req = (await l2Inbox.next()) as ForwardedRequest;
    expect(req).toMatchObject({ to: 'L2', op: 'readStream', args: ['s-1'] });
    origin.channel('L2', inboxChannelName(store, 'F')).postMessage({ kind: 'reply', to: 'F', id: req.id, ok: true, result: [] } satisfies TabMessage);
    expect(await call).toEqual([]);
    releaseL2();
  });

  it('fails with NO_LEADER only after leaderTimeout without a leader, never while a slow leader lives', async () => {
    const store = setup();
    await origin.hold('test', storeLockName(store));
    const started = Date.now();
    const lonely = worker(store, 'F0', undefined, 150);
    const failure = await lonely.tabs.ready.catch((e: unknown) => e);
    expect(isNoLeader(failure)).toBe(true);
    expect(Date.now() - started).toBeGreaterThanOrEqual(140);

    const f = worker(store, 'F', undefined, 150);
    const l1 = await handLeader(store, 'L1');
    await f.tabs.ready;
    const call = f.tabs.call('head', []);
    let settled = false;
    call.then(
      () => (settled = true),
      () => (settled = true),
    );
    await l1.nextRequest();
    // The leader is alive but slow: the call waits, well past the timeout.
    await sleep(400);
    expect(settled).toBe(false);
    const died = Date.now();
    l1.die();
    const error = await call.catch((e: unknown) => e);
    expect(isNoLeader(error)).toBe(true);
    expect(Date.now() - died).toBeGreaterThanOrEqual(140);
  });

  it('a closing follower still sees its calls through a change of leader', async () => {
    const store = setup();
    await origin.hold('test', storeLockName(store));
    const f = worker(store, 'F');
    const l1 = await handLeader(store, 'L1');
    await f.tabs.ready;
    const call = f.tabs.call('append', ['req']);
    await l1.nextRequest();
    const closing = f.tabs.close();
    l1.die();
    const l2 = await handLeader(store, 'L2');
    const req = await l2.nextRequest();
    l2.reply('F', req.id, 'done');
    expect(await call).toBe('done');
    await closing;
    // And once closed, it takes no more calls.
    expect(await f.tabs.call('head', []).catch((e: unknown) => (e as Error).name)).toBe('StoreClosedError');
  });

  it('a closing follower whose leader dies with no successor fails the call with NO_LEADER, and closes', async () => {
    const store = setup();
    await origin.hold('test', storeLockName(store));
    const f = worker(store, 'F', undefined, 150);
    const l1 = await handLeader(store, 'L1');
    await f.tabs.ready;
    const call = f.tabs.call('append', ['req']);
    await l1.nextRequest();
    const closing = f.tabs.close();
    l1.die();
    expect(isNoLeader(await call.catch((e: unknown) => e))).toBe(true);
    await closing;
  });

  it('a promoted follower runs its own calls in flight, and reports the change of role once', async () => {
    const store = setup();
    const releaseStore = await origin.hold('test', storeLockName(store));
    const f = worker(store, 'F', echoServer());
    const watcher = origin.channel('watcher', storeChannelName(store)).collect();
    const l1 = await handLeader(store, 'L1');
    expect((await f.tabs.ready).role).toBe('follower');
    const call = f.tabs.call('readStream', ['s-9']);
    await l1.nextRequest();
    l1.die();
    releaseStore();
    expect(await call).toBe('F:readStream:s-9');
    expect(f.roles).toEqual(['leader']);
    await expect
      .poll(() => watcher.all.some((m) => (m as TabMessage).kind === 'leader' && (m as { leader: string }).leader === 'F'))
      .toBe(true);
  });

  it('keeps two followers apart though their request ids are the same, relays every push, and serves only engine operations', async () => {
    const store = setup();
    const leader = worker(store, 'W', echoServer());
    expect((await leader.tabs.ready).role).toBe('leader');
    const a = worker(store, 'A');
    const b = worker(store, 'B');
    await Promise.all([a.tabs.ready, b.tabs.ready]);
    const [fromA, fromB] = await Promise.all([
      Promise.all(Array.from({ length: 50 }, (_, i) => a.tabs.call('readStream', [`a-${i}`]))),
      Promise.all(Array.from({ length: 50 }, (_, i) => b.tabs.call('readStream', [`b-${i}`]))),
    ]);
    expect(fromA).toEqual(Array.from({ length: 50 }, (_, i) => `W:readStream:a-${i}`));
    expect(fromB).toEqual(Array.from({ length: 50 }, (_, i) => `W:readStream:b-${i}`));

    // Whatever the leader publishes reaches every follower, push types unknown here included.
    leader.tabs.publish('commit', { head: 1, streams: ['s'], types: ['T'] });
    leader.tabs.publish('some-future-push', { n: 1 });
    for (const f of [a, b]) {
      await expect.poll(() => f.pushes).toEqual([
        ['commit', { head: 1, streams: ['s'], types: ['T'] }],
        ['some-future-push', { n: 1 }],
      ]);
    }
    expect(leader.pushes).toEqual([]);

    // A follower may not ask the leader to close (or anything else outside ENGINE_OPS).
    const rogue = origin.channel('R', inboxChannelName(store, 'R')).collect();
    origin.channel('R', inboxChannelName(store, 'W')).postMessage({ kind: 'request', from: 'R', to: 'W', id: 1, op: 'close', args: [] } satisfies TabMessage);
    expect(await rogue.next()).toMatchObject({ kind: 'reply', to: 'R', id: 1, ok: false, error: { code: 'INVALID_ARGUMENT' } });
  });

  it('a closing leader answers what it had taken, closes its database, and only then lets the next one open', async () => {
    const store = setup();
    const log: string[] = [];
    const calls: string[] = [];
    const leader = worker(store, 'W', echoServer(log, 50, calls));
    await leader.tabs.ready;
    const f = worker(store, 'F', (id) => {
      log.push(`${id} opened`);
      return echoServer(log)(id);
    });
    await f.tabs.ready;
    const taken = f.tabs.call('append', ['before']);
    // Close once the leader has taken the call (not after a fixed wait, which a loaded machine outlasts).
    while (calls.length === 0) await sleep(1);
    const closing = leader.tabs.close();
    const after = f.tabs.call('append', ['after']);
    expect(await taken).toBe('W:append:before');
    expect(await after).toBe('F:append:after');
    await closing;
    expect(log).toEqual(['W closed', 'F opened']);
    expect(f.roles).toEqual(['leader']);
    expect(leader.roles).toEqual([]);
  });

  it('openStore refuses a leaderTimeout that is not a positive number of ms', async () => {
    for (const leaderTimeout of [0, -1, Number.NaN, Number.POSITIVE_INFINITY]) {
      const error = await openStore({ name: 'x', leaderTimeout }).catch((e: unknown) => e);
      expect(isCairnError(error) && error.code === ErrorCode.INVALID_ARGUMENT, String(leaderTimeout)).toBe(true);
    }
  });
});
