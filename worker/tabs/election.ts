/**
 * Competing for a store's Web Lock: the holder leads, for as long as it holds it.
 *
 * - The first request asks `ifAvailable`: a worker learns at once whether it leads or follows.
 *   A follower then waits in line, and is granted the lock when the leader lets it go,
 *   however it went (closed, tab closed, worker stopped, renderer crashed).
 * - While leading it also holds a lock named after its own id, taken before anyone can learn
 *   that id, so a follower's shared request on it is granted only once this leader is gone.
 * - `stop` gives up the wait; `stepDown` releases both locks of a leader.
 * Without Web Locks there is no one to compete with: the worker leads at once, alone.
 */
import { leaderLockName, storeLockName } from '../../src/protocol/tabs.ts';
import type { TabLocks } from './platform.ts';

/** What the election calls back. */
export interface ElectionHooks {
  /**
   * This worker holds the store's lock: open and serve; true if it now leads (then it holds
   * the lock until `stepDown`). `stepped` settles at the step-down.
   */
  lead(stepped: Promise<void>): Promise<boolean>;
  /** The lock is held by another worker: follow it (the election now waits in line). */
  follow(): void;
}

/** One worker's part in the election of its store's leader. */
export class Election {
  readonly #locks: TabLocks | undefined;
  readonly #store: string;
  readonly #self: string;
  readonly #hooks: ElectionHooks;
  /** Aborts the wait for the store's lock: a closing worker no longer wants to lead. */
  readonly #stopCompeting = new AbortController();
  #stepDown: () => void = () => {};

  constructor(locks: TabLocks | undefined, store: string, self: string, hooks: ElectionHooks) {
    this.#locks = locks;
    this.#store = store;
    this.#self = self;
    this.#hooks = hooks;
  }

  /** Asks for the store's lock. */
  start(): void {
    this.#request(true);
  }

  /** Holds this leader's own lock, until `stepDown`; resolves once it is held. */
  holdLeaderLock(stepped: Promise<void>): Promise<void> {
    const locks = this.#locks;
    if (locks === undefined) return Promise.resolve();
    return new Promise<void>((held) => {
      void locks.request(leaderLockName(this.#self), {}, () => {
        held();
        return stepped;
      });
    });
  }

  /** Releases the leader's locks: followers see it gone, and the next in line opens. */
  stepDown(): void {
    this.#stepDown();
  }

  /** Gives up waiting in line. */
  stop(): void {
    this.#stopCompeting.abort();
  }

  #request(first: boolean): void {
    const locks = this.#locks;
    if (locks === undefined) {
      void this.#granted();
      return;
    }
    const onLock = async (lock: Lock | null): Promise<void> => {
      if (lock !== null) return this.#granted();
      this.#hooks.follow();
      this.#request(false);
    };
    // `ifAvailable` cannot be combined with a signal; the first try is never left waiting anyway.
    const request = first
      ? locks.request(storeLockName(this.#store), { ifAvailable: true }, onLock)
      : locks.request(storeLockName(this.#store), { signal: this.#stopCompeting.signal }, onLock);
    request.catch(() => {
      // Aborted by stop: this worker no longer wants to lead.
    });
  }

  /** Runs while this worker holds the store's lock; returning lets the lock go. */
  async #granted(): Promise<void> {
    const stepped = new Promise<void>((resolve) => (this.#stepDown = resolve));
    if (await this.#hooks.lead(stepped)) await stepped;
  }
}
