/**
 * Many tabs, one writer: the election, forwarding and handover between the workers of one
 * store (one worker per tab). The wire messages are in `src/protocol/tabs.ts`.
 *
 * Responsibilities:
 * - Compete for the store's Web Lock. The holder opens the database (`openLeader`) and
 *   serves; every other worker is a follower and never loads SQLite or touches OPFS.
 * - Route each page call: on the local engine when this worker leads, else to the leader's
 *   inbox as `{ from, id }`, the answer coming back to this worker's own inbox.
 * - While leading, serve followers' calls (any op in ENGINE_OPS, nothing else) and publish
 *   the leader's pushes to every tab.
 * - Detect a leader's end: it holds a lock named after its own id for as long as it serves,
 *   and each follower queues for that lock in shared mode, so a grant means "gone", whether
 *   the leader closed, its worker was terminated or its renderer crashed.
 * - Hold a lock named after this worker for its whole life, which its page queues for, so
 *   the page can fail its calls when the worker dies without an error event.
 *
 * Interleavings handled:
 * - A call in flight when its leader goes is re-sent to the next leader. Event ids are
 *   fixed in the page before sending, so a re-sent append that had already committed
 *   replays its first result instead of writing twice (`event-log.ts`).
 * - A late reply from the old leader and the reply to the re-send both arrive: the first
 *   settles the call, the other finds nothing pending and is dropped.
 * - The new leader's announcement may arrive before or after the old one's end is noticed;
 *   an end is acted on only if it is the end of the current leader, and an announcement
 *   from a leader already gone (a stale message) reads as gone at once and prompts a
 *   `hello`, which the real leader answers.
 * - A follower promoted while its own calls are in flight runs them itself.
 * - A closing leader first stops taking follower calls, then commits and answers what it
 *   had already queued, then releases the database, and only then its locks: a call that
 *   reached it is answered, one that did not is re-sent to the next leader.
 * - No leader at all (the lock is held by someone who never serves): each waiting call
 *   fails with NO_LEADER after `leaderTimeout`, counted from when it began to wait, instead
 *   of hanging.
 * - The page is told of a role change once per actual change, never twice.
 * - A follower that wins the lock while the old leader's access handles are still held
 *   (a crashed renderer lets go of them a moment later) retries the open until it works.
 */
import { InvalidArgumentError, NoLeaderError, StoreClosedError } from '../src/core/errors.ts';
import type { StorageKind } from '../src/core/types.ts';
import { isEngineOp, type EngineOp, type LeaderNotice, type OpenInfo, type Role } from '../src/protocol/api.ts';
import { deserializeError, serializeError } from '../src/protocol/error-codec.ts';
import {
  inboxChannelName,
  leaderLockName,
  parseTabMessage,
  storeChannelName,
  storeLockName,
  workerLockName,
  type ForwardedReply,
  type ForwardedRequest,
  type LeaderMessage,
  type TabMessage,
} from '../src/protocol/tabs.ts';

/** The leader's open store, as the election sees it. */
export interface LeaderServer {
  readonly storage: StorageKind;
  /** Runs one engine operation. */
  call(op: EngineOp, args: unknown[]): Promise<unknown>;
  /** The newest position in the log. */
  head(): Promise<number>;
  /** Commits what is queued, closes the database and lets go of its storage. */
  close(): Promise<void>;
}

/** The part of the Web Locks API the election uses. */
export interface TabLocks {
  request(name: string, options: LockOptions, callback: (lock: Lock | null) => unknown): Promise<unknown>;
}

/** The part of a BroadcastChannel the election uses. */
export interface TabChannel {
  postMessage(message: unknown): void;
  addEventListener(type: 'message', listener: (event: MessageEvent) => void): void;
  close(): void;
}

/** Where the election finds locks and channels: the browser's own unless a test plays them. */
export interface TabsPlatform {
  /** Undefined where there are no Web Locks: the worker then leads alone. */
  locks: TabLocks | undefined;
  /** Undefined where there is no BroadcastChannel: the worker then leads alone. */
  channel: ((name: string) => TabChannel) | undefined;
  /** A unique id for this worker. */
  newId(): string;
}

/** Options of `joinTabs`. */
export interface TabsOptions {
  /** The store's name: the lock and the channels are named after it. */
  name: string;
  /** How long a call may wait for a leader, in ms. */
  leaderTimeout: number;
  /** Opens the database; called once this worker holds the store's lock. */
  openLeader(): Promise<LeaderServer>;
  /** This worker's role changed after `ready`. */
  onRoleChange(role: Role): void;
  /** A leader (this worker or another) has started serving. */
  onLeader(notice: LeaderNotice): void;
  /** The leader published a push (only called while this worker follows). */
  onPush(name: string, data: unknown): void;
  /** Locks and channels; the browser's by default. */
  platform?: TabsPlatform;
}

/** One worker's membership in its store's group of tabs. */
export interface Tabs {
  /** Settles once this worker leads or knows who does: NO_LEADER if nobody does in time. */
  readonly ready: Promise<OpenInfo>;
  /** Runs an engine operation wherever the database is. */
  call(op: EngineOp, args: unknown[]): Promise<unknown>;
  /** Sends a push to every other tab (the leader's own page is the caller's business). */
  publish(name: string, data: unknown): void;
  /** Leader: commits what is queued and hands over. Follower: waits for its calls in flight. */
  close(): Promise<void>;
}

/** Joins the store's tabs: starts competing for leadership at once. */
export function joinTabs(options: TabsOptions): Tabs {
  const { name, leaderTimeout } = options;
  const platform = options.platform ?? browserPlatform();
  const self = platform.newId();
  const locks = platform.locks;
  const openChannel = platform.channel;
  // Without Web Locks or BroadcastChannel there is no one to share with: lead alone.
  const solo = locks === undefined || openChannel === undefined;
  const pending = new Map<number, Pending>();
  const inflight = new Set<Promise<unknown>>();
  const outboxes = new Map<string, TabChannel>();
  /** Aborts the wait for the store's lock: a closing worker no longer wants to lead. */
  const stopCompeting = new AbortController();
  /** Aborts the watch on leaders' locks, once a closing worker has nothing in flight. */
  const stopWatching = new AbortController();
  let nextId = 1;
  let role: Role = 'follower';
  /** The known leader: this worker (once its database is open) or another. */
  let leader: { id: string; storage: StorageKind } | undefined;
  /** Set while this worker leads and its database is open. */
  let server: LeaderServer | undefined;
  /** False once a closing leader stops taking follower calls. */
  let serving = false;
  let promoting: Promise<boolean> | undefined;
  let stepDown = (): void => {};
  let closing: Promise<void> | undefined;
  let channelsOpen = !solo;

  let readySettled = false;
  let readyTimer: ReturnType<typeof setTimeout> | undefined;
  let resolveReady!: (info: OpenInfo) => void;
  let rejectReady!: (e: unknown) => void;
  const elected = new Promise<OpenInfo>((resolve, reject) => {
    resolveReady = (info) => {
      if (readySettled) return;
      readySettled = true;
      clearTimeout(readyTimer);
      resolve(info);
    };
    rejectReady = (e) => {
      if (readySettled) return;
      readySettled = true;
      clearTimeout(readyTimer);
      reject(e);
    };
  });

  // The page learns this worker's id from `ready` and queues for its lifetime lock: held
  // from here until the worker is gone, so it is surely held by the time `ready` settles.
  const alive = new Promise<void>((held) => {
    if (locks === undefined) held();
    else void locks.request(workerLockName(self), {}, () => new Promise<void>(() => held()));
  });
  const ready = Promise.all([alive, elected]).then(([, info]) => info);

  const storeChannel = openChannel?.(storeChannelName(name));
  const inbox = openChannel?.(inboxChannelName(name, self));
  storeChannel?.addEventListener('message', (event) => receive(event.data, false));
  inbox?.addEventListener('message', (event) => receive(event.data, true));

  compete(true);

  function compete(first: boolean): void {
    if (solo) {
      void lead();
      return;
    }
    const granted = async (lock: Lock | null): Promise<void> => {
      if (lock === null) follow();
      else await lead();
    };
    // `ifAvailable` cannot be combined with a signal; the first try is never left waiting anyway.
    const request = first
      ? locks.request(storeLockName(name), { ifAvailable: true }, granted)
      : locks.request(storeLockName(name), { signal: stopCompeting.signal }, granted);
    request.catch(() => {
      // Aborted by close: this worker no longer wants to lead.
    });
  }

  function follow(): void {
    post(storeChannel, { kind: 'hello', from: self });
    readyTimer = setTimeout(() => {
      rejectReady(noLeader());
      void close();
    }, leaderTimeout);
    compete(false);
  }

  /** Runs while this worker holds the store's lock; returning lets the lock go. */
  async function lead(): Promise<void> {
    if (closing !== undefined) return;
    const stepped = new Promise<void>((resolve) => (stepDown = resolve));
    // `close` waits for this whole promotion, not just the open: it must find the worker
    // either leading (and hand over) or not (and let the lock go), never half-way.
    promoting = promote(stepped);
    if (await promoting) await stepped;
  }

  /** Opens the database and starts serving; false when it could not. */
  async function promote(stepped: Promise<void>): Promise<boolean> {
    clearTimeout(readyTimer);
    let s: LeaderServer;
    try {
      s = await openServer(!readySettled);
    } catch (e) {
      // Only the first open reports its error (a store that cannot open at all); a
      // promoted follower retries until it opens or closes.
      rejectReady(e);
      void close();
      return false;
    }
    if (!solo && locks !== undefined) {
      // Held before anyone can learn this leader's id, so a follower's shared request on it
      // is only ever granted once this leader is gone.
      await new Promise<void>((held) => {
        void locks.request(leaderLockName(self), {}, () => {
          held();
          return stepped;
        });
      });
    }
    server = s;
    serving = true;
    leader = { id: self, storage: s.storage };
    setRole('leader');
    // The calls that waited go first, in the order they were made, ahead of any new one.
    for (const [id, p] of pending) dispatch(id, p);
    const head = await s.head().catch(() => 0);
    post(storeChannel, { kind: 'leader', leader: self, storage: s.storage, head });
    if (readySettled) options.onLeader({ head });
    resolveReady({ storage: s.storage, role: 'leader', worker: self });
    return true;
  }

  async function openServer(initial: boolean): Promise<LeaderServer> {
    for (let attempt = 0; ; attempt++) {
      try {
        return await options.openLeader();
      } catch (e) {
        if (initial || closing !== undefined) throw e;
        await new Promise((r) => setTimeout(r, Math.min(250 * 2 ** attempt, 2000)));
      }
    }
  }

  function receive(data: unknown, fromInbox: boolean): void {
    const m = parseTabMessage(data);
    if (m === undefined) return;
    switch (m.kind) {
      case 'hello':
        if (serving && server !== undefined) answerHello(server, m.from);
        return;
      case 'leader':
        if (m.leader !== self && server === undefined) learnLeader(m);
        return;
      case 'request':
        if (fromInbox && m.to === self) serveFollower(m);
        return;
      case 'reply':
        if (fromInbox && m.to === self) settle(m);
        return;
      case 'push':
        if (server === undefined) options.onPush(m.push, m.data);
        return;
      case 'bye':
        outboxes.get(m.from)?.close();
        outboxes.delete(m.from);
        return;
    }
  }

  function answerHello(s: LeaderServer, to: string): void {
    void s.head().then(
      (head) => post(outbox(to), { kind: 'leader', leader: self, storage: s.storage, head }),
      () => {},
    );
  }

  function learnLeader(m: LeaderMessage): void {
    if (leader?.id === m.leader) return;
    leader = { id: m.leader, storage: m.storage };
    watchLeader(m.leader);
    // A page that was already open may have missed commit notices in the handover.
    if (readySettled) options.onLeader({ head: m.head });
    resolveReady({ storage: m.storage, role: 'follower', worker: self });
    for (const [id, p] of pending) if (p.sentTo !== m.leader) dispatch(id, p);
  }

  function watchLeader(id: string): void {
    if (locks === undefined) return;
    locks
      .request(leaderLockName(id), { mode: 'shared', signal: stopWatching.signal }, () => leaderGone(id))
      .catch(() => {
        // Aborted by close.
      });
  }

  function leaderGone(id: string): void {
    if (leader?.id !== id) return;
    leader = undefined;
    for (const [reqId, p] of pending) {
      if (p.sentTo === id) {
        p.sentTo = undefined;
        dispatch(reqId, p);
      }
    }
    // If that was a stale announcement, the real leader answers this.
    post(storeChannel, { kind: 'hello', from: self });
  }

  /** Sends a pending call to the current leader, or starts its NO_LEADER clock. */
  function dispatch(id: number, p: Pending): void {
    if (leader === undefined) {
      p.timer ??= setTimeout(() => {
        pending.delete(id);
        p.reject(noLeader());
      }, leaderTimeout);
      return;
    }
    clearTimeout(p.timer);
    p.timer = undefined;
    if (leader.id === self && server !== undefined) {
      pending.delete(id);
      runLocal(server, p.op, p.args).then(p.resolve, p.reject);
      return;
    }
    p.sentTo = leader.id;
    const request: ForwardedRequest = { kind: 'request', from: self, to: leader.id, id, op: p.op, args: p.args };
    post(outbox(leader.id), request);
  }

  function settle(m: ForwardedReply): void {
    const p = pending.get(m.id);
    if (p === undefined) return;
    pending.delete(m.id);
    clearTimeout(p.timer);
    if (m.ok) p.resolve(m.result);
    else p.reject(deserializeError(m.error));
  }

  function serveFollower(m: ForwardedRequest): void {
    // Not serving (stepping down): the follower re-sends the call to the next leader.
    if (!serving || server === undefined) return;
    const to = m.from;
    const result = isEngineOp(m.op)
      ? runLocal(server, m.op, m.args)
      : Promise.reject(new InvalidArgumentError(`Unknown operation: ${m.op}`));
    // The inbox is looked up when the answer is ready: the one open at the start may have
    // been closed meanwhile (the follower said bye, or too many followers came and went).
    result.then(
      (value) => post(outbox(to), { kind: 'reply', to, id: m.id, ok: true, result: value }),
      (e: unknown) => post(outbox(to), { kind: 'reply', to, id: m.id, ok: false, error: serializeError(e) }),
    );
  }

  function outbox(id: string): TabChannel | undefined {
    if (!channelsOpen || openChannel === undefined) return undefined;
    let channel = outboxes.get(id);
    if (channel === undefined) {
      channel = openChannel(inboxChannelName(name, id));
      // A leader talks to every follower, but a crashed follower never says bye: bound the set.
      if (outboxes.size >= MAX_OUTBOXES) {
        const [oldestId, oldest] = outboxes.entries().next().value!;
        oldest.close();
        outboxes.delete(oldestId);
      }
    } else {
      outboxes.delete(id);
    }
    outboxes.set(id, channel);
    return channel;
  }

  function post(channel: TabChannel | undefined, message: TabMessage): void {
    if (channelsOpen) channel?.postMessage(message);
  }

  function setRole(next: Role): void {
    if (next === role) return;
    role = next;
    if (readySettled) options.onRoleChange(next);
  }

  function noLeader(): NoLeaderError {
    return new NoLeaderError(
      `No tab served the store "${name}" within ${leaderTimeout} ms: its lock is held by a tab or worker that does not answer`,
    );
  }

  function call(op: EngineOp, args: unknown[]): Promise<unknown> {
    if (closing !== undefined) return Promise.reject(new StoreClosedError());
    let result: Promise<unknown>;
    if (server !== undefined && leader?.id === self) {
      result = runLocal(server, op, args);
    } else {
      result = new Promise((resolve, reject) => {
        const id = nextId++;
        const p: Pending = { op, args, sentTo: undefined, timer: undefined, resolve, reject };
        pending.set(id, p);
        dispatch(id, p);
      });
    }
    inflight.add(result);
    const forget = (): void => void inflight.delete(result);
    result.then(forget, forget);
    return result;
  }

  function close(): Promise<void> {
    closing ??= (async () => {
      // Still watching the leader: the calls a closing follower waits for may need re-sending.
      stopCompeting.abort();
      clearTimeout(readyTimer);
      await promoting;
      const s = server;
      if (s !== undefined) {
        serving = false;
        await Promise.allSettled(inflight);
        await s.close();
        // The answers to the last calls are posted from promise callbacks: let them run.
        await new Promise((r) => setTimeout(r, 0));
        server = undefined;
        leader = undefined;
        // Releases the leader's locks: followers see it gone, the next in line opens.
        stepDown();
      } else {
        await Promise.allSettled(inflight);
        post(storeChannel, { kind: 'bye', from: self });
      }
      stopWatching.abort();
      for (const p of pending.values()) clearTimeout(p.timer);
      channelsOpen = false;
      storeChannel?.close();
      inbox?.close();
      for (const channel of outboxes.values()) channel.close();
      outboxes.clear();
    })();
    return closing;
  }

  return {
    ready,
    call,
    publish(pushName, data) {
      post(storeChannel, { kind: 'push', push: pushName, data });
    },
    close,
  };
}

/** The browser's locks and channels, where it has them. */
function browserPlatform(): TabsPlatform {
  return {
    locks: typeof navigator === 'undefined' ? undefined : navigator.locks,
    channel: typeof BroadcastChannel === 'function' ? (name) => new BroadcastChannel(name) : undefined,
    newId: () => crypto.randomUUID(),
  };
}

/** How many follower inboxes a leader keeps open at once. */
const MAX_OUTBOXES = 32;

interface Pending {
  op: EngineOp;
  args: unknown[];
  /** The leader it was last sent to; undefined while it waits for one. */
  sentTo: string | undefined;
  /** The NO_LEADER clock, running while it waits. */
  timer: ReturnType<typeof setTimeout> | undefined;
  resolve: (value: unknown) => void;
  reject: (error: unknown) => void;
}

/** Calls the local engine; a synchronous throw becomes a rejection. */
function runLocal(server: LeaderServer, op: EngineOp, args: unknown[]): Promise<unknown> {
  try {
    return server.call(op, args);
  } catch (e) {
    return Promise.reject(e);
  }
}
