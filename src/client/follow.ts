/**
 * Following the log: catch up from a position, then go live, in global order. Subscriptions,
 * `store.stream` and durable consumers are all built on `follow`.
 *
 * Responsibilities:
 * - Pull, never push: events are always read from the store after the last delivered
 *   position. A commit notice is only a hint that the head moved; its content is never
 *   taken for the events, so a lost, late, repeated or reordered notice cannot lose,
 *   duplicate or reorder an event.
 * - The next event is read only after the previous one was handled (the generator is
 *   suspended at `yield` while its reader handles the event).
 *
 * Interleavings handled:
 * - The commit listener is registered before the start position is resolved, so a commit
 *   between `head()` and the first read is never missed.
 * - Appends racing the catch-up: a notice that arrives while a read is in flight raises
 *   `latest`; after a complete batch (fewer events than asked for) everything matching up
 *   to that batch's `head` has been seen, and the follower reads again only if `latest`
 *   is beyond it. A notice for a commit the read already saw costs nothing.
 * - Filters: the cursor moves to the batch's head after a complete batch, so commits of
 *   events the filter rejects do not make the follower read the same range again.
 */
import type { CommitNotice } from '../core/engine.ts';
import { InvalidArgumentError } from '../core/errors.ts';
import { MAX_PAGE_SIZE } from '../core/limits.ts';
import type { StoredEvent } from '../core/records.ts';
import type { EventFilter, RecordedEvent, StartPosition } from '../core/types.ts';
import type { Backend, Feed } from './ports.ts';

/** Where following starts: the beginning of the log, its current end, or after a position. */
export type FollowStart = StartPosition;

/** What `follow` reads from and listens to. */
export interface LogSource {
  backend: Backend;
  onCommit: Feed<CommitNotice>;
  /** Decodes a stored event and brings it to its latest shape; undefined skips it. */
  decode: (stored: StoredEvent) => RecordedEvent | undefined;
}

/** Options of `follow`. */
export interface FollowOptions {
  signal: AbortSignal;
  /** How many events one read fetches. */
  batchSize: number;
  /** Awaited each time the follower has caught up, with the position everything up to which was seen. */
  onCaughtUp?: (position: number) => Promise<void> | void;
}

/** The default number of events one read fetches. */
export const DEFAULT_FOLLOW_BATCH = 500;

/**
 * Yields every event matching `filter` after `start`, then each new one as it is committed,
 * until `signal` aborts (the generator then returns) or a read fails (it throws).
 */
export async function* follow(
  source: LogSource,
  filter: EventFilter,
  start: FollowStart,
  options: FollowOptions,
): AsyncGenerator<StoredEvent, void> {
  const { signal, batchSize } = options;
  let latest = 0;
  let wake: (() => void) | undefined;
  const stopListening = source.onCommit((notice) => {
    if (notice.head > latest) {
      latest = notice.head;
      wake?.();
    }
  });
  const onAbort = (): void => wake?.();
  signal.addEventListener('abort', onAbort);
  try {
    let cursor = start === 'start' ? 0 : start === 'end' ? await source.backend.head() : start;
    while (!signal.aborted) {
      const batch = await source.backend.readFrom(filter, cursor, batchSize);
      for (const event of batch.events) {
        if (signal.aborted) return;
        yield event;
        cursor = event.position;
      }
      if (batch.events.length === batchSize) continue;
      // Every matching event up to batch.head has now been delivered.
      cursor = Math.max(cursor, batch.head);
      if (options.onCaughtUp !== undefined && !signal.aborted) await options.onCaughtUp(cursor);
      while (latest <= cursor && !signal.aborted) {
        await new Promise<void>((resolve) => (wake = resolve));
        wake = undefined;
      }
    }
  } finally {
    stopListening();
    signal.removeEventListener('abort', onAbort);
  }
}

/** Checks a follower's batch size (how many events one read fetches). */
export function checkBatchSize(batchSize: unknown): number {
  if (batchSize === undefined) return DEFAULT_FOLLOW_BATCH;
  if (!Number.isSafeInteger(batchSize) || (batchSize as number) < 1 || (batchSize as number) > MAX_PAGE_SIZE) {
    throw new InvalidArgumentError(`batchSize must be an integer from 1 to ${MAX_PAGE_SIZE}, got ${String(batchSize)}`);
  }
  return batchSize as number;
}
