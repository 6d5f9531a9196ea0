/** Waiting, in every runtime Cairn runs in. */

/** Waits `ms`; resolves true after the wait, or false at once if `signal` aborted first. */
export function sleep(ms: number, signal?: AbortSignal): Promise<boolean> {
  return new Promise((resolve) => {
    if (signal?.aborted) return resolve(false);
    const onAbort = (): void => {
      clearTimeout(timer);
      resolve(false);
    };
    const timer = setTimeout(() => {
      signal?.removeEventListener('abort', onAbort);
      resolve(true);
    }, ms);
    signal?.addEventListener('abort', onAbort, { once: true });
  });
}

/** The wait before retry `attempt` (0-based): `base` doubled each time, at most `max`. */
export function backoff(attempt: number, base: number, max: number): number {
  return Math.min(base * 2 ** attempt, max);
}
