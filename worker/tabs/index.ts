/**
 * Many tabs, one writer: one worker's membership in the group of workers (one per tab) of
 * its store. It composes the election (`election.ts`), the calls between tabs
 * (`forwarding.ts`) and the channels (`channels.ts`); the wire messages are in
 * `src/protocol/tabs.ts`.
 *
 * Responsibilities:
 * - Route each page call: on the local engine when this worker leads, else to the leader.
 * - While leading, serve followers' calls and publish the leader's pushes to every tab.
 * - Learn who leads from the leader's announcements, and that it is gone from its lock.
 * - Hold a lock named after this worker for its whole life, which its page queues for, so
 *   the page can fail its calls when the worker dies without an error event.
 *
 * Interleavings handled:
 * - A call in flight when its leader goes is re-sent to the next leader; a late reply from
 *   the old one and the reply to the re-send both arrive, and the first settles the call.
 * - The new leader's announcement may arrive before or after the old one's end is noticed:
 *   an end is acted on only if it is the end of the current leader, and an announcement
 *   from a leader already gone (a stale message) reads as gone at once and prompts a
 *   `hello`, which the real leader answers.
 * - A follower promoted while its own calls are in flight runs them itself, in order, ahead
 *   of any new one.
 * - A closing leader first stops taking follower calls, then commits and answers what it had
 *   already queued, then releases the database, and only then its locks: a call that
 *   reached it is answered, one that did not is re-sent to the next leader.
 * - No leader at all (the lock is held by someone who never serves): each waiting call fails
 *   with NO_LEADER after `leaderTimeout`, counted from when it began to wait.
 * - The page is told of a role change once per actual change, never twice.
 * - A follower that wins the lock while the old leader's access handles are still held (a
 *   crashed renderer lets go of them a moment later) retries the open until it works.
 */
import { NoLeaderError, StoreClosedError } from '../../src/core/errors.ts';
import { sleep } from '../../src/core/time.ts';
import type { StorageKind } from '../../src/core/types.ts';
import type { RoutedOp, LeaderNotice, OpenInfo, Role } from '../../src/protocol/api.ts';
import type { RpcClient } from '../../src/protocol/rpc.ts';
import {
  leaderLockName,
  parseTabMessage,
  workerLockName,
  type ForwardedReplies,
  type ForwardedReply,
  type LeaderMessage,
} from '../../src/protocol/tabs.ts';
import { TabChannels } from './channels.ts';
import { Election } from './election.ts';
import { leaderLink, serveFollowers, type EngineCalls } from './forwarding.ts';
import { browserPlatform, type TabLocks, type TabsPlatform } from './platform.ts';

export type { TabChannel, TabLocks, TabsPlatform } from './platform.ts';

/** The leader's open store, as the election sees it. */
export interface LeaderServer {
  readonly storage: StorageKind;
  /** Runs one engine operation. */
  call(op: RoutedOp, args: unknown[]): Promise<unknown>;
  /** The newest position in the log. */
  head(): Promise<number>;
  /** Commits what is queued, closes the database and lets go of its storage. */
  close(): Promise<void>;
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
  call(op: RoutedOp, args: unknown[]): Promise<unknown>;
  /** Sends a push to every other tab (the leader's own page is the caller's business). */
  publish(name: string, data: unknown): void;
  /** Leader: commits what is queued and hands over. Follower: waits for its calls in flight. */
  close(): Promise<void>;
}

/** Joins the store's tabs: starts competing for leadership at once. */
export function joinTabs(options: TabsOptions): Tabs {
  return new Membership(options);
}

class Membership implements Tabs {
  readonly ready: Promise<OpenInfo>;
  readonly #options: TabsOptions;
  readonly #self: string;
  readonly #locks: TabLocks | undefined;
  readonly #channels: TabChannels;
  readonly #election: Election;
  readonly #link: RpcClient<EngineCalls>;
  readonly #deliver: (reply: ForwardedReply | ForwardedReplies) => void;
  readonly #serve: ReturnType<typeof serveFollowers>;
  readonly #ready: Readiness;
  readonly #inflight = new Set<Promise<unknown>>();
  /** Aborts the watch on leaders' locks, once a closing worker has nothing in flight. */
  readonly #stopWatching = new AbortController();
  #role: Role = 'follower';
  /** The known leader: this worker (once its database is open) or another. */
  #leader: { id: string; storage: StorageKind } | undefined;
  /** Set while this worker leads and its database is open. */
  #server: LeaderServer | undefined;
  /** False once a closing leader stops taking follower calls. */
  #serving = false;
  #promoting: Promise<boolean> | undefined;
  #closing: Promise<void> | undefined;

  constructor(options: TabsOptions) {
    this.#options = options;
    const platform = options.platform ?? browserPlatform();
    this.#self = platform.newId();
    // Without Web Locks or BroadcastChannel there is no one to share with: lead alone.
    const solo = platform.locks === undefined || platform.channel === undefined;
    this.#locks = solo ? undefined : platform.locks;
    this.#channels = new TabChannels(options.name, this.#self, solo ? undefined : platform.channel);
    const link = leaderLink(this.#channels, this.#self, () => this.#remoteLeader(), options.leaderTimeout, () => this.#noLeader());
    this.#link = link.client;
    this.#deliver = link.deliver;
    this.#serve = serveFollowers(this.#channels, () => this.#serving && this.#server !== undefined, (op, args) => runLocal(this.#server!, op, args));
    this.#ready = new Readiness();
    // The page learns this worker's id from `ready` and queues for its lifetime lock: held
    // from here until the worker is gone, so it is surely held by the time `ready` settles.
    const alive = holdForever(platform.locks, workerLockName(this.#self));
    this.ready = Promise.all([alive, this.#ready.promise]).then(([, info]) => info);
    this.#election = new Election(this.#locks, options.name, this.#self, {
      lead: (stepped) => this.#lead(stepped),
      follow: () => this.#follow(),
    });
    this.#channels.listen((data, fromInbox) => this.#receive(data, fromInbox));
    this.#election.start();
  }

  call(op: RoutedOp, args: unknown[]): Promise<unknown> {
    if (this.#closing !== undefined) return Promise.reject(new StoreClosedError());
    const result =
      this.#server !== undefined && this.#leader?.id === this.#self
        ? runLocal(this.#server, op, args)
        : this.#link.remote[op](...args);
    this.#inflight.add(result);
    const forget = (): void => void this.#inflight.delete(result);
    result.then(forget, forget);
    return result;
  }

  publish(name: string, data: unknown): void {
    this.#channels.broadcast({ kind: 'push', push: name, data });
  }

  close(): Promise<void> {
    this.#closing ??= this.#shutDown();
    return this.#closing;
  }

  /** The leader calls go to: another worker, or none while this one leads or none is known. */
  #remoteLeader(): string | undefined {
    const id = this.#leader?.id;
    return id === this.#self ? undefined : id;
  }

  #follow(): void {
    this.#channels.broadcast({ kind: 'hello', from: this.#self });
    this.#ready.timeout(this.#options.leaderTimeout, () => {
      this.#ready.reject(this.#noLeader());
      void this.close();
    });
  }

  /** Runs while this worker holds the store's lock; true once it leads. */
  async #lead(stepped: Promise<void>): Promise<boolean> {
    if (this.#closing !== undefined) return false;
    // `close` waits for this whole promotion, not just the open: it must find the worker
    // either leading (and hand over) or not (and let the lock go), never half-way.
    this.#promoting = this.#promote(stepped);
    return this.#promoting;
  }

  /** Opens the database and starts serving; false when it could not. */
  async #promote(stepped: Promise<void>): Promise<boolean> {
    this.#ready.clearTimeout();
    let server: LeaderServer;
    try {
      server = await this.#openServer(!this.#ready.settled);
    } catch (e) {
      // Only the first open reports its error (a store that cannot open at all); a
      // promoted follower retries until it opens or closes.
      this.#ready.reject(e);
      void this.close();
      return false;
    }
    // Held before anyone can learn this leader's id.
    await this.#election.holdLeaderLock(stepped);
    this.#server = server;
    this.#serving = true;
    this.#leader = { id: this.#self, storage: server.storage };
    this.#setRole('leader');
    // The calls that waited go first, in the order they were made, ahead of any new one.
    for (const call of this.#link.takePending()) runLocal(server, call.op as RoutedOp, call.args).then(call.resolve, call.reject);
    const head = await server.head().catch(() => 0);
    this.#channels.broadcast({ kind: 'leader', leader: this.#self, storage: server.storage, head });
    if (this.#ready.settled) this.#options.onLeader({ head });
    this.#ready.resolve({ storage: server.storage, role: 'leader', worker: this.#self });
    return true;
  }

  async #openServer(initial: boolean): Promise<LeaderServer> {
    for (let attempt = 0; ; attempt++) {
      try {
        return await this.#options.openLeader();
      } catch (e) {
        if (initial || this.#closing !== undefined) throw e;
        await sleep(Math.min(250 * 2 ** attempt, 2000));
      }
    }
  }

  #receive(data: unknown, fromInbox: boolean): void {
    const m = parseTabMessage(data);
    if (m === undefined) return;
    switch (m.kind) {
      case 'hello':
        if (this.#serving && this.#server !== undefined) this.#answerHello(this.#server, m.from);
        return;
      case 'leader':
        if (m.leader !== this.#self && this.#server === undefined) this.#learnLeader(m);
        return;
      case 'request':
      case 'batch':
        if (fromInbox && m.to === this.#self) this.#serve(m);
        return;
      case 'reply':
      case 'replies':
        if (fromInbox && m.to === this.#self) this.#deliver(m);
        return;
      case 'push':
        if (this.#server === undefined) this.#options.onPush(m.push, m.data);
        return;
      case 'bye':
        this.#channels.forget(m.from);
        return;
    }
  }

  #answerHello(server: LeaderServer, to: string): void {
    void server.head().then(
      (head) => this.#channels.send(to, { kind: 'leader', leader: this.#self, storage: server.storage, head }),
      () => {},
    );
  }

  #learnLeader(m: LeaderMessage): void {
    if (this.#leader?.id === m.leader) return;
    this.#leader = { id: m.leader, storage: m.storage };
    this.#watchLeader(m.leader);
    // A page that was already open may have missed commit notices in the handover.
    if (this.#ready.settled) this.#options.onLeader({ head: m.head });
    this.#ready.resolve({ storage: m.storage, role: 'follower', worker: this.#self });
    this.#link.resend();
  }

  /** Queues for a leader's own lock in shared mode: being granted it means that leader is gone. */
  #watchLeader(id: string): void {
    if (this.#locks === undefined) return;
    this.#locks
      .request(leaderLockName(id), { mode: 'shared', signal: this.#stopWatching.signal }, () => this.#leaderGone(id))
      .catch(() => {
        // Aborted by close.
      });
  }

  #leaderGone(id: string): void {
    if (this.#leader?.id !== id) return;
    this.#leader = undefined;
    // The calls sent to it wait for the next leader, their clocks running.
    this.#link.resend();
    // If that was a stale announcement, the real leader answers this.
    this.#channels.broadcast({ kind: 'hello', from: this.#self });
  }

  #setRole(next: Role): void {
    if (next === this.#role) return;
    this.#role = next;
    if (this.#ready.settled) this.#options.onRoleChange(next);
  }

  #noLeader(): NoLeaderError {
    return new NoLeaderError(
      `No tab served the store "${this.#options.name}" within ${this.#options.leaderTimeout} ms: its lock is held by a tab or worker that does not answer`,
    );
  }

  async #shutDown(): Promise<void> {
    // Still watching the leader: the calls a closing follower waits for may need re-sending.
    this.#election.stop();
    this.#ready.clearTimeout();
    await this.#promoting;
    const server = this.#server;
    if (server !== undefined) {
      this.#serving = false;
      await Promise.allSettled(this.#inflight);
      await server.close();
      // The answers to the last calls are posted from promise callbacks: let them run.
      await sleep(0);
      this.#server = undefined;
      this.#leader = undefined;
      this.#election.stepDown();
    } else {
      await Promise.allSettled(this.#inflight);
      this.#channels.broadcast({ kind: 'bye', from: this.#self });
    }
    this.#stopWatching.abort();
    this.#link.dispose();
    this.#channels.close();
  }
}

/** The `ready` promise of a membership, with the NO_LEADER clock of the first wait. */
class Readiness {
  readonly promise: Promise<OpenInfo>;
  settled = false;
  #resolve!: (info: OpenInfo) => void;
  #reject!: (e: unknown) => void;
  #timer: ReturnType<typeof setTimeout> | undefined;

  constructor() {
    this.promise = new Promise<OpenInfo>((resolve, reject) => {
      this.#resolve = resolve;
      this.#reject = reject;
    });
  }

  resolve(info: OpenInfo): void {
    if (this.settled) return;
    this.settled = true;
    this.clearTimeout();
    this.#resolve(info);
  }

  reject(e: unknown): void {
    if (this.settled) return;
    this.settled = true;
    this.clearTimeout();
    this.#reject(e);
  }

  timeout(ms: number, onTimeout: () => void): void {
    this.#timer = setTimeout(onTimeout, ms);
  }

  clearTimeout(): void {
    clearTimeout(this.#timer);
  }
}

/** Takes `name` and never lets it go (where there are no locks, at once). */
function holdForever(locks: TabLocks | undefined, name: string): Promise<void> {
  return new Promise<void>((held) => {
    if (locks === undefined) held();
    else void locks.request(name, {}, () => new Promise<void>(() => held()));
  });
}

/** Calls the local engine; a synchronous throw becomes a rejection. */
function runLocal(server: LeaderServer, op: RoutedOp, args: unknown[]): Promise<unknown> {
  try {
    return server.call(op, args);
  } catch (e) {
    return Promise.reject(e);
  }
}
