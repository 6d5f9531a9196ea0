/**
 * What the Suspense-friendly hooks share: a live value (a query's rows, an aggregate's
 * state) kept per store and key, outside any component, so that a component that suspends
 * (and is thrown away by React until the value arrives) finds the same value, and the same
 * single `store.watch` or listener, when it renders again.
 *
 * Lifetime: a resource starts when first asked for (during a render). Once it has its first
 * value or error, it stops when no mounted component has been subscribed to it for
 * `IDLE_MS`: that grace period covers a render that suspended and has not committed yet,
 * StrictMode's unmount-and-mount, and a list that re-keys its items. Before the first value
 * it never stops, however long the query takes, or the suspended render would start it
 * again and again.
 *
 * A failed resource stays in the cache (so the render that retries after suspending finds
 * the error, not a fresh attempt) until `ERROR_HOLD_MS` after a hook first threw its error
 * to a boundary (`takeError`): a boundary's retry after that starts afresh.
 */
/** How long a resource nobody is subscribed to keeps running, in ms. */
export const IDLE_MS = 2_000;
/** How long a failed resource keeps its error for renders of the same attempt, in ms. */
export const ERROR_HOLD_MS = 250;

/** What a resource has: nothing yet, a value, or the error that stopped it. */
export type ResourceSnapshot<T> =
  | { status: 'loading'; value: undefined; error: undefined }
  | { status: 'ready'; value: T; error: undefined }
  | { status: 'failed'; value: undefined; error: unknown };

/** Starts a resource's source; `emit` a value each time it changes, `fail` once. Returns its stop function. */
export type ResourceSource<T> = (emit: (value: T) => void, fail: (error: unknown) => void) => () => void;

/** A live value, shared by every component that shows it. */
export class LiveResource<T> {
  /** Settles when the first value or the error has arrived (for Suspense to wait on). */
  readonly ready: Promise<void>;
  #snapshot: ResourceSnapshot<T> = { status: 'loading', value: undefined, error: undefined };
  readonly #listeners = new Set<() => void>();
  readonly #start: ResourceSource<T>;
  readonly #cache: Map<string, LiveResource<unknown>>;
  readonly #key: string;
  readonly #accept: ((current: T, next: T) => boolean) | undefined;
  #stop: (() => void) | undefined;
  #idle: ReturnType<typeof setTimeout> | undefined;
  #settle!: () => void;
  #leaving = false;

  constructor(
    start: ResourceSource<T>,
    cache: Map<string, LiveResource<unknown>>,
    key: string,
    accept?: (current: T, next: T) => boolean,
  ) {
    this.#start = start;
    this.#accept = accept;
    this.#cache = cache;
    this.#key = key;
    cache.set(key, this as LiveResource<unknown>);
    this.ready = new Promise<void>((resolve) => (this.#settle = resolve));
    void this.ready.then(() => {
      if (this.#listeners.size === 0) this.#scheduleIdle();
    });
    this.#run();
  }

  /**
   * The error, for a hook to throw to a boundary, whose retry must start afresh: the resource
   * leaves the cache `ERROR_HOLD_MS` after its error was first thrown. Not at once: React
   * renders a component that threw once more before it shows the boundary, and in a
   * concurrent render that second render can come several tasks later (the render yields
   * between the throw and the retry); it must find the same error rather than start the
   * query again.
   */
  takeError(): unknown {
    if (!this.#leaving) {
      this.#leaving = true;
      setTimeout(() => this.#evict(), ERROR_HOLD_MS);
    }
    return this.#snapshot.error;
  }

  /** The current snapshot; the same object until something changes (for useSyncExternalStore). */
  snapshot = (): ResourceSnapshot<T> => this.#snapshot;

  /** Subscribes a mounted component; returns its unsubscribe function. */
  subscribe = (listener: () => void): (() => void) => {
    this.#listeners.add(listener);
    clearTimeout(this.#idle);
    this.#idle = undefined;
    // Stopped while no one listened (a render that stayed suspended past the grace period):
    // start again, and be the cache's entry again unless another has taken the key.
    if (this.#stop === undefined && this.#snapshot.status !== 'failed') {
      if (!this.#cache.has(this.#key)) this.#cache.set(this.#key, this as LiveResource<unknown>);
      this.#run();
    }
    return () => {
      this.#listeners.delete(listener);
      if (this.#listeners.size === 0 && this.#snapshot.status !== 'loading') this.#scheduleIdle();
    };
  };

  /** Sets the value from outside the source (an aggregate's `handle` knows the new state first). */
  set(value: T): void {
    if (this.#snapshot.status === 'failed') return;
    if (this.#snapshot.status === 'ready' && this.#accept !== undefined && !this.#accept(this.#snapshot.value, value)) return;
    this.#snapshot = { status: 'ready', value, error: undefined };
    this.#settle();
    this.#notify();
  }

  #run(): void {
    let live = true;
    const stop = this.#start(
      (value) => {
        if (live) this.set(value);
      },
      (error) => {
        if (!live) return;
        live = false;
        this.#snapshot = { status: 'failed', value: undefined, error };
        this.#stop = undefined;
        this.#settle();
        this.#notify();
      },
    );
    this.#stop = () => {
      live = false;
      stop();
    };
  }

  #scheduleIdle(): void {
    clearTimeout(this.#idle);
    this.#idle = setTimeout(() => {
      this.#idle = undefined;
      if (this.#listeners.size > 0) return;
      this.#stop?.();
      this.#stop = undefined;
      this.#evict();
    }, IDLE_MS);
  }

  #evict(): void {
    if (this.#cache.get(this.#key) === this) this.#cache.delete(this.#key);
  }

  #notify(): void {
    for (const listener of this.#listeners) listener();
  }
}

// Per store, per key. A WeakMap: a store that is dropped takes its resources' entries with it.
const caches = new WeakMap<object, Map<string, LiveResource<unknown>>>();

/**
 * The resource of `key` on `store`, started with `start` if there is none. `accept`, when
 * given, says whether a new value may replace the current one (an older state arriving late may not).
 */
export function resourceOf<T>(
  store: object,
  key: string,
  start: ResourceSource<T>,
  accept?: (current: T, next: T) => boolean,
): LiveResource<T> {
  let cache = caches.get(store);
  if (cache === undefined) caches.set(store, (cache = new Map()));
  return (cache.get(key) as LiveResource<T> | undefined) ?? new LiveResource<T>(start, cache, key, accept);
}
