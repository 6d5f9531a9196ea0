/**
 * What every runner on the page (subscription, watch, durable consumer) shares: it stops
 * when its own `stop()` is called, when the caller's signal aborts, or when the store
 * closes; and its `done` promise settles once its loop has ended.
 *
 * A read cut short by the store closing is the end, not a failure; any other failure also
 * aborts the runner, and `done` rejects with it.
 */
import { isStoreClosed } from '../core/errors.ts';
import { anySignal } from './signals.ts';

/** A runner's stop signal and its end. */
export interface Runner {
  /** Aborts when the runner must stop, for whatever reason. */
  readonly signal: AbortSignal;
  /** Settles when the loop has ended (after `onEnd`). */
  readonly done: Promise<void>;
  /** Asks the runner to stop. */
  stop(): void;
}

/**
 * Starts `loop` under a signal that aborts on `stop()`, on `signal` (the caller's), or on
 * `lifetime` (the store's). `onEnd` runs when the loop ends, before `done` settles.
 */
export function startRunner(
  lifetime: AbortSignal,
  signal: AbortSignal | undefined,
  loop: (signal: AbortSignal) => Promise<void>,
  onEnd: () => void = () => {},
): Runner {
  const controller = new AbortController();
  const combined = anySignal(signal === undefined ? [lifetime, controller.signal] : [lifetime, controller.signal, signal]);
  const done = loop(combined)
    .finally(onEnd)
    .catch((e: unknown) => {
      controller.abort();
      if (lifetime.aborted && isStoreClosed(e)) return;
      throw e;
    });
  // `done` is there to be awaited; a runner nobody asks about must not raise an unhandled rejection.
  done.catch(() => {});
  return { signal: combined, done, stop: () => controller.abort() };
}
