/**
 * Durable consumers: a named handler whose progress is checkpointed in the database, run by
 * exactly one instance at a time across every tab (and worker) of the origin.
 *
 * Responsibilities:
 * - Every instance waits for the Web Lock `cairn:<store>:consumer:<name>`; the one holding
 *   it runs. When its tab closes the lock is freed and a waiting instance in another tab
 *   takes over from the stored checkpoint. Without Web Locks (Node), one runs per process.
 * - At least once: the checkpoint moves past an event only after its handler resolved (or
 *   after it was dead-lettered), so an event whose handler had not finished when its tab
 *   went away is delivered again; nothing is skipped.
 * - A handler that throws is retried with exponential backoff; after `retries` retries the
 *   event goes to the dead-letter table with its last error, in the same commit as the
 *   checkpoint that moves past it (or, with `onDeadLetter: 'stop'`, the consumer stops
 *   there without moving past it).
 *
 * Interleavings handled:
 * - `stop()` while waiting for the lock gives up the wait; while a handler runs, that call
 *   finishes and is checkpointed, then the runner stops; during a backoff, it stops at once
 *   without retrying.
 * - The lock is taken before the checkpoint is read, so two runners never both read it.
 */
import { anySignal } from './signals.ts';
import type { ConsumerStart, DeadLetter, DeadLetterInput } from '../core/checkpoints.ts';
import { InvalidArgumentError } from '../core/errors.ts';
import type { StoredEvent } from '../core/records.ts';
import type { EventFilter, EventMap, RecordedEventOf } from '../core/types.ts';
import { DEFAULT_FOLLOW_BATCH, follow, settleRun, validateFollowStart, type LogSource } from './follow.ts';
import { acquireLock } from './locks.ts';

/** Options of `store.consumer`. */
export interface ConsumerOptions {
  /** Where a consumer that has no checkpoint yet starts. Default `'start'`. */
  from?: ConsumerStart;
  /** How many times a failing event is retried before it is dead-lettered (so 1 + retries attempts). Default 3. */
  retries?: number;
  /** The wait before the first retry, in ms; each next one doubles. Default 100. */
  retryDelay?: number;
  /** The longest wait between retries, in ms. Default 30 000. */
  maxRetryDelay?: number;
  /** After the last retry: `'skip'` (the default) records a dead letter and moves on; `'stop'` records it and stops there. */
  onDeadLetter?: 'skip' | 'stop';
  /** Aborting it stops the consumer, as `stop()` does. */
  signal?: AbortSignal;
  /** How many events one catch-up read fetches. Default 500. */
  batchSize?: number;
}

/** What a consumer's handler is told besides the event. */
export interface ConsumerContext {
  /** 1 on the first attempt at this event, 2 on the first retry... */
  attempt: number;
  /** Aborts when the consumer is stopping. */
  signal: AbortSignal;
}

/** A durable consumer's instance in this tab. */
export interface Consumer {
  readonly name: string;
  /** `waiting`: another instance holds the lock; `running`: this one does; `stopped`: for good. */
  readonly state: 'waiting' | 'running' | 'stopped';
  /** Stops this instance (the event in hand finishes first) and frees the lock for another. */
  stop(): Promise<void>;
  /** Settles when this instance stops: resolves after `stop`, rejects with the error that stopped it. */
  readonly done: Promise<void>;
  /** The events this consumer gave up on, oldest first. */
  deadLetters(): Promise<DeadLetter[]>;
  /**
   * Runs the handler once more on a dead-lettered event (after fixing what failed). On
   * success the dead letter is removed; on failure it is kept with the new error, which is thrown.
   */
  retryDeadLetter(position: number): Promise<void>;
  /** Removes a dead letter without running the handler; false if there was none. */
  discardDeadLetter(position: number): Promise<boolean>;
}

/** Starts an instance of the durable consumer `name`. */
export function startConsumer<E extends EventMap>(
  source: LogSource,
  storeName: string,
  lifetime: AbortSignal,
  name: string,
  filter: EventFilter,
  handler: (event: RecordedEventOf<E>, context: ConsumerContext) => unknown,
  options: ConsumerOptions = {},
): Consumer {
  if (typeof name !== 'string' || name.length === 0 || name.length > 200) {
    throw new InvalidArgumentError('A consumer name must be a non-empty string of at most 200 characters');
  }
  if (typeof handler !== 'function') throw new InvalidArgumentError('A consumer needs a handler function');
  const retries = options.retries ?? 3;
  const retryDelay = options.retryDelay ?? 100;
  const maxRetryDelay = options.maxRetryDelay ?? 30_000;
  if (!Number.isSafeInteger(retries) || retries < 0) throw new InvalidArgumentError('retries must be an integer >= 0');
  if (!(retryDelay >= 0) || !(maxRetryDelay >= 0)) throw new InvalidArgumentError('Retry delays must be >= 0');
  validateFollowStart(options.from ?? 'start');
  if (options.onDeadLetter !== undefined && options.onDeadLetter !== 'skip' && options.onDeadLetter !== 'stop') {
    throw new InvalidArgumentError("onDeadLetter must be 'skip' or 'stop'");
  }
  const stopOnDeadLetter = options.onDeadLetter === 'stop';

  const controller = new AbortController();
  const signals = [lifetime, controller.signal];
  if (options.signal !== undefined) signals.push(options.signal);
  const signal = anySignal(signals);
  let state: Consumer['state'] = 'waiting';
  const { backend } = source;

  /** Tries the handler until it succeeds, retries run out, or the consumer stops. */
  async function attempt(stored: StoredEvent): Promise<{ ok: true } | { ok: false; error: unknown; attempts: number } | 'stopped'> {
    for (let n = 1; ; n++) {
      try {
        // Inside the try: an event no upcaster can bring up to date fails like a handler would.
        const event = source.decode(stored) as RecordedEventOf<E> | undefined;
        if (event !== undefined) await handler(event, { attempt: n, signal });
        return { ok: true };
      } catch (error) {
        if (n > retries) return { ok: false, error, attempts: n };
        if (signal.aborted) return 'stopped';
        const delay = Math.min(retryDelay * 2 ** (n - 1), maxRetryDelay);
        if (!(await sleep(delay, signal))) return 'stopped';
      }
    }
  }

  async function run(): Promise<void> {
    const release = await acquireLock(`cairn:${storeName}:consumer:${name}`, signal);
    if (release === undefined) return;
    try {
      if (signal.aborted) return;
      state = 'running';
      let checkpoint = await backend.openConsumer(name, options.from ?? 'start');
      const events = follow(source, filter, checkpoint, {
        signal,
        batchSize: options.batchSize ?? DEFAULT_FOLLOW_BATCH,
        // Caught up past events the filter skipped: move the checkpoint there, so lag means what it says.
        onCaughtUp: async (position) => {
          if (position <= checkpoint) return;
          await backend.advanceConsumer(name, position);
          checkpoint = position;
        },
      });
      for await (const stored of events) {
        const outcome = await attempt(stored);
        if (outcome === 'stopped') return;
        if (outcome.ok) {
          await backend.advanceConsumer(name, stored.position);
          checkpoint = stored.position;
          continue;
        }
        const deadLetter = deadLetterOf(stored, outcome.error, outcome.attempts);
        if (stopOnDeadLetter) {
          await backend.advanceConsumer(name, checkpoint, deadLetter);
          throw outcome.error;
        }
        await backend.advanceConsumer(name, stored.position, deadLetter);
        checkpoint = stored.position;
      }
    } finally {
      state = 'stopped';
      release();
    }
  }

  const done = settleRun(run(), controller, lifetime, () => {
    state = 'stopped';
  });

  return {
    name,
    get state() {
      return state;
    },
    stop() {
      controller.abort();
      return done.then(
        () => {},
        () => {},
      );
    },
    done,
    deadLetters: () => backend.deadLetters(name),
    async retryDeadLetter(position) {
      const letter = (await backend.deadLetters(name)).find((d) => d.position === position);
      if (letter === undefined) throw new InvalidArgumentError(`Consumer "${name}" has no dead letter at position ${position}`);
      const [stored] = await backend.readEvents([letter.eventId]);
      if (stored === undefined) throw new InvalidArgumentError(`The event ${letter.eventId} of this dead letter is not in the store`);
      try {
        const event = source.decode(stored) as RecordedEventOf<E> | undefined;
        if (event !== undefined) await handler(event, { attempt: letter.attempts + 1, signal: lifetime });
      } catch (error) {
        // Position 0 never moves a checkpoint: this only records the new failure.
        await backend.advanceConsumer(name, 0, deadLetterOf(stored, error, letter.attempts + 1));
        throw error;
      }
      await backend.discardDeadLetter(name, position);
    },
    discardDeadLetter: (position) => backend.discardDeadLetter(name, position),
  };
}

/** The dead letter of an event; an error's own `detail` (JSON-able) is kept with it. */
function deadLetterOf(stored: StoredEvent, error: unknown, attempts: number): DeadLetterInput {
  const detail = (error as { detail?: unknown } | null)?.detail;
  let detailJson: string | null = null;
  if (detail !== undefined) {
    try {
      detailJson = JSON.stringify(detail) ?? null;
    } catch {
      detailJson = null; // Detail that JSON cannot hold is left out; the error text remains.
    }
  }
  return { position: stored.position, eventId: stored.id, error: describeError(error), attempts, detail: detailJson };
}

/** Waits `ms`; resolves false if `signal` aborted first. */
function sleep(ms: number, signal: AbortSignal): Promise<boolean> {
  return new Promise((resolve) => {
    if (signal.aborted) return resolve(false);
    const timer = setTimeout(() => {
      signal.removeEventListener('abort', onAbort);
      resolve(true);
    }, ms);
    const onAbort = (): void => {
      clearTimeout(timer);
      resolve(false);
    };
    signal.addEventListener('abort', onAbort, { once: true });
  });
}

function describeError(e: unknown): string {
  if (e instanceof Error) return `${e.name}: ${e.message}`;
  try {
    return typeof e === 'string' ? e : JSON.stringify(e) ?? String(e);
  } catch {
    return String(e);
  }
}
