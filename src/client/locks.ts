/**
 * Exclusive named locks for durable consumers: Web Locks where the runtime has them (every
 * tab and worker of the origin shares them, and a tab's locks are released when it
 * closes), else a lock table private to this process (Node, Deno, edge runtimes).
 */
import { asCairnError } from '../core/errors.ts';

/** Releases a held lock. */
export type ReleaseLock = () => void;

// The fallback: per name, the promise that settles when the last holder or waiter is done.
const tails = new Map<string, Promise<void>>();

/**
 * Waits for the lock `name`. Resolves with its release function once held, or with
 * `undefined` if `signal` aborted first (then the lock is never taken).
 */
export function acquireLock(name: string, signal: AbortSignal): Promise<ReleaseLock | undefined> {
  if (signal.aborted) return Promise.resolve(undefined);
  const locks = typeof navigator === 'undefined' ? undefined : navigator.locks;
  return locks === undefined ? acquireLocal(name, signal) : acquireWebLock(locks, name, signal);
}

function acquireWebLock(locks: LockManager, name: string, signal: AbortSignal): Promise<ReleaseLock | undefined> {
  return new Promise((resolve, reject) => {
    locks
      .request(name, { signal }, () => {
        // Granted: hold it until released. (An abort after this point does not touch a held lock.)
        return new Promise<void>((release) => resolve(() => release()));
      })
      .catch((e: unknown) => {
        if (signal.aborted) resolve(undefined);
        else reject(asCairnError(e));
      });
  });
}

function acquireLocal(name: string, signal: AbortSignal): Promise<ReleaseLock | undefined> {
  const previous = tails.get(name) ?? Promise.resolve();
  let release!: () => void;
  const mine = new Promise<void>((resolve) => (release = resolve));
  const tail = previous.then(() => mine);
  tails.set(name, tail);
  void tail.then(() => {
    if (tails.get(name) === tail) tails.delete(name);
  });
  return new Promise((resolve) => {
    const onAbort = (): void => resolve(undefined);
    signal.addEventListener('abort', onAbort, { once: true });
    void previous.then(() => {
      signal.removeEventListener('abort', onAbort);
      // Aborted while waiting: pass the lock straight on.
      if (signal.aborted) release();
      else resolve(release);
    });
  });
}
