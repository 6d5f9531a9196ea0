/**
 * A pretend origin for the election's unit tests: Web Locks with the browser's queueing
 * rules, and BroadcastChannels (Node's own) grouped by owner, so a test can kill an owner
 * the way a crashed tab dies: its locks are released, its channels go silent.
 */
import type { TabChannel, TabLocks, TabsPlatform } from '../../worker/tabs/index.ts';

interface Holder {
  name: string;
  mode: LockMode;
  owner: string;
}

interface Waiter extends Holder {
  callback: (lock: Lock | null) => unknown;
  resolve: (value: unknown) => void;
  reject: (error: unknown) => void;
}

/** Locks and channels shared by every owner of one pretend origin. */
export class FakeOrigin {
  readonly #held: Holder[] = [];
  readonly #queue: Waiter[] = [];
  readonly #channels = new Map<string, Set<OwnedChannel>>();
  readonly #dead = new Set<string>();

  /** What `joinTabs` gets for a worker called `owner`. */
  platform(owner: string): TabsPlatform {
    return { locks: this.locks(owner), channel: (name) => this.channel(owner, name), newId: () => owner };
  }

  /** The locks as `owner` sees them. */
  locks(owner: string): TabLocks {
    return { request: (name, options, callback) => this.#request(owner, name, options, callback) };
  }

  /** Opens a channel owned by `owner`. */
  channel(owner: string, name: string): OwnedChannel {
    const channel = new OwnedChannel(name, () => this.#dead.has(owner));
    let set = this.#channels.get(owner);
    if (set === undefined) this.#channels.set(owner, (set = new Set()));
    set.add(channel);
    return channel;
  }

  /** Takes `name` for `owner` until the returned function is called; resolves once held. */
  async hold(owner: string, name: string, mode: LockMode = 'exclusive'): Promise<() => void> {
    let release!: () => void;
    const released = new Promise<void>((r) => (release = r));
    await new Promise<void>((held) => {
      void this.#request(owner, name, { mode }, () => {
        held();
        return released;
      });
    });
    return release;
  }

  /** `owner` dies: what it holds is released, what it waits for is dropped, its channels go silent. */
  kill(owner: string): void {
    this.#dead.add(owner);
    for (const channel of this.#channels.get(owner) ?? []) channel.close();
    for (let i = this.#held.length - 1; i >= 0; i--) if (this.#held[i]!.owner === owner) this.#held.splice(i, 1);
    for (let i = this.#queue.length - 1; i >= 0; i--) if (this.#queue[i]!.owner === owner) this.#queue.splice(i, 1);
    this.#pump();
  }

  /** Closes every channel, so Node can exit. */
  closeAll(): void {
    for (const set of this.#channels.values()) for (const channel of set) channel.close();
  }

  #request(owner: string, name: string, options: LockOptions, callback: (lock: Lock | null) => unknown): Promise<unknown> {
    return new Promise((resolve, reject) => {
      const waiter: Waiter = { name, mode: options.mode ?? 'exclusive', owner, callback, resolve, reject };
      if (options.ifAvailable === true && !this.#grantable(waiter)) {
        queueMicrotask(() => Promise.resolve(callback(null)).then(resolve, reject));
        return;
      }
      options.signal?.addEventListener('abort', () => {
        const at = this.#queue.indexOf(waiter);
        if (at === -1) return;
        this.#queue.splice(at, 1);
        reject(new DOMException('The request was aborted', 'AbortError'));
      });
      this.#queue.push(waiter);
      this.#pump();
    });
  }

  /** Grantable now: nothing held conflicts, and nothing queued before it for the same name. */
  #grantable(w: Holder, queuedBefore: Waiter[] = this.#queue): boolean {
    if (queuedBefore.some((q) => q.name === w.name)) return false;
    const holders = this.#held.filter((h) => h.name === w.name);
    return holders.length === 0 || (w.mode === 'shared' && holders.every((h) => h.mode === 'shared'));
  }

  #pump(): void {
    for (let i = 0; i < this.#queue.length; i++) {
      const w = this.#queue[i]!;
      if (!this.#grantable(w, this.#queue.slice(0, i))) continue;
      this.#queue.splice(i--, 1);
      const holder: Holder = { name: w.name, mode: w.mode, owner: w.owner };
      this.#held.push(holder);
      const release = (): void => {
        const at = this.#held.indexOf(holder);
        if (at === -1) return; // Already released by kill.
        this.#held.splice(at, 1);
        this.#pump();
      };
      queueMicrotask(() => {
        let result: Promise<unknown>;
        try {
          result = Promise.resolve(w.callback({ name: w.name, mode: w.mode } as Lock));
        } catch (e) {
          result = Promise.reject(e);
        }
        result.then(
          (v) => {
            release();
            w.resolve(v);
          },
          (e: unknown) => {
            release();
            w.reject(e);
          },
        );
      });
    }
  }
}

/** A BroadcastChannel that goes silent (both ways) once its owner is dead. */
export class OwnedChannel implements TabChannel {
  readonly #channel: BroadcastChannel;
  readonly #dead: () => boolean;
  #closed = false;

  constructor(name: string, dead: () => boolean) {
    this.#channel = new BroadcastChannel(name);
    this.#dead = dead;
  }

  postMessage(message: unknown): void {
    if (!this.#closed && !this.#dead()) this.#channel.postMessage(message);
  }

  addEventListener(type: 'message', listener: (event: MessageEvent) => void): void {
    this.#channel.addEventListener(type, (event) => {
      if (!this.#dead()) listener(event as MessageEvent);
    });
  }

  close(): void {
    if (this.#closed) return;
    this.#closed = true;
    this.#channel.close();
  }

  /** Collects what arrives, for a test to wait on. */
  collect(): { next(): Promise<unknown>; all: unknown[] } {
    const all: unknown[] = [];
    const waiting: ((m: unknown) => void)[] = [];
    let read = 0;
    this.addEventListener('message', (event) => {
      all.push(event.data);
      waiting.shift()?.(event.data);
    });
    return {
      all,
      next() {
        if (read < all.length) return Promise.resolve(all[read++]);
        read++;
        return new Promise((resolve) => waiting.push(resolve));
      },
    };
  }
}
