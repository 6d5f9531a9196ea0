/**
 * `store.subscribe`: a handler called for each matching event, catch-up then live, in
 * global order, each call awaited before the next (see `follow.ts` for how nothing is
 * missed or doubled).
 *
 * A handler that throws (or rejects) stops the subscription at that event: `position`
 * stays at the last event it finished and `done` rejects with the error. Subscribing
 * again `from: sub.position` retries that event.
 */
import { InvalidArgumentError, isStoreClosed } from '../core/errors.ts';
import { validateStart } from '../core/validate.ts';
import type { EventFilter, EventMap, RecordedEventOf } from '../core/types.ts';
import { checkBatchSize, follow, type FollowStart, type LogSource } from './follow.ts';
import { startRunner } from './runner.ts';
import { anySignal } from './signals.ts';

/** Options of `store.subscribe` and `store.stream`. */
export interface SubscribeOptions {
  /** `'start'` (the default) replays the whole log; `'end'` only what commits from now on; a position starts after it. */
  from?: FollowStart;
  /** Aborting it closes the subscription. */
  signal?: AbortSignal;
  /** How many events one catch-up read fetches. Default 500. */
  batchSize?: number;
}

/** A running subscription. */
export interface Subscription {
  /** Stops it; a handler call in progress finishes, and none follows. */
  close(): void;
  /** The same as `close`, as a function to hand around. */
  readonly unsubscribe: () => void;
  /** The position of the last event whose handler finished; before any, the `from` position (0 for 'start' and 'end'). */
  readonly position: number;
  /** True once it has stopped, for whatever reason. */
  readonly closed: boolean;
  /** Resolves when it stops after `close`, an abort or the store closing; rejects with the handler's error if one threw. */
  readonly done: Promise<void>;
}

/** Starts a subscription on `source`; `lifetime` is the store's (closing the store stops it). */
export function subscribe<E extends EventMap>(
  source: LogSource,
  lifetime: AbortSignal,
  filter: EventFilter,
  handler: (event: RecordedEventOf<E>) => unknown,
  options: SubscribeOptions = {},
): Subscription {
  if (typeof handler !== 'function') throw new InvalidArgumentError('subscribe needs a handler function');
  const from = options.from ?? 'start';
  validateStart(from);
  const batchSize = checkBatchSize(options.batchSize);
  let position = typeof from === 'number' ? from : 0;
  let closed = false;

  const runner = startRunner(
    lifetime,
    options.signal,
    async (signal) => {
      for await (const stored of follow(source, filter, from, { signal, batchSize })) {
        const event = source.decode(stored);
        if (event !== undefined) await handler(event as RecordedEventOf<E>);
        position = stored.position;
      }
    },
    () => {
      closed = true;
    },
  );
  return {
    close: runner.stop,
    unsubscribe: runner.stop,
    get position() {
      return position;
    },
    get closed() {
      return closed;
    },
    done: runner.done,
  };
}

/** The async-iterator form: the loop body is the handler. Ends when the signal aborts or the store closes. */
export async function* stream<E extends EventMap>(
  source: LogSource,
  lifetime: AbortSignal,
  filter: EventFilter,
  options: SubscribeOptions = {},
): AsyncGenerator<RecordedEventOf<E>, void> {
  const from = options.from ?? 'start';
  validateStart(from);
  const signal = options.signal === undefined ? lifetime : anySignal([lifetime, options.signal]);
  const events = follow(source, filter, from, { signal, batchSize: checkBatchSize(options.batchSize) });
  try {
    for await (const stored of events) {
      const event = source.decode(stored);
      if (event !== undefined) yield event as RecordedEventOf<E>;
    }
  } catch (e) {
    if (lifetime.aborted && isStoreClosed(e)) return;
    throw e;
  }
}
