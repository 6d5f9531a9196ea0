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
import type { ConsumerStart, DeadLetter, DeadLetterInput } from '../core/checkpoints.ts';
import { InvalidArgumentError } from '../core/errors.ts';
import type { StoredEvent } from '../core/records.ts';
import type { EventFilter, EventMap, RecordedEventOf } from '../core/types.ts';
import { backoff, sleep } from '../core/time.ts';
import { validateConsumerName, validateStart } from '../core/validate.ts';
import { checkBatchSize, follow, type LogSource } from './follow.ts';
import { startRunner } from './runner.ts';
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

/** A running process manager: a durable consumer, with its dead letters to list, retry and discard. */
export type ProcessManager = Consumer;

/** Options of `store.processManager`: those of a durable consumer. */
export type ProcessManagerOptions = ConsumerOptions;

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
  validateConsumerName(name);
  if (typeof handler !== 'function') throw new InvalidArgumentError('A consumer needs a handler function');
  const settings = checkOptions(options);
  const instance = new ConsumerInstance<E>(source, storeName, name, filter, handler, settings);
  const runner = startRunner(lifetime, options.signal, (signal) => instance.run(signal), () => instance.stopped());
  return {
    name,
    get state() {
      return instance.state;
    },
    stop() {
      runner.stop();
      return runner.done.then(
        () => {},
        () => {},
      );
    },
    done: runner.done,
    deadLetters: () => source.backend.deadLetters(name),
    retryDeadLetter: (position) => instance.retryDeadLetter(position, lifetime),
    discardDeadLetter: (position) => source.backend.discardDeadLetter(name, position),
  };
}

/** A consumer's options, checked. */
interface Settings {
  from: ConsumerStart;
  retries: number;
  retryDelay: number;
  maxRetryDelay: number;
  stopOnDeadLetter: boolean;
  batchSize: number;
}

function checkOptions(options: ConsumerOptions): Settings {
  const retries = options.retries ?? 3;
  const retryDelay = options.retryDelay ?? 100;
  const maxRetryDelay = options.maxRetryDelay ?? 30_000;
  if (!Number.isSafeInteger(retries) || retries < 0) throw new InvalidArgumentError('retries must be an integer >= 0');
  if (!(retryDelay >= 0) || !(maxRetryDelay >= 0) || !Number.isFinite(retryDelay) || !Number.isFinite(maxRetryDelay)) {
    throw new InvalidArgumentError('Retry delays must be finite numbers of ms >= 0');
  }
  const from = options.from ?? 'start';
  validateStart(from);
  if (options.onDeadLetter !== undefined && options.onDeadLetter !== 'skip' && options.onDeadLetter !== 'stop') {
    throw new InvalidArgumentError("onDeadLetter must be 'skip' or 'stop'");
  }
  return {
    from,
    retries,
    retryDelay,
    maxRetryDelay,
    stopOnDeadLetter: options.onDeadLetter === 'stop',
    batchSize: checkBatchSize(options.batchSize),
  };
}

type Attempt = { ok: true } | { ok: false; error: unknown; attempts: number } | 'stopped';

/** One instance's loop: the lock, the checkpoint, each event tried until it succeeds or is dead-lettered. */
class ConsumerInstance<E extends EventMap> {
  state: Consumer['state'] = 'waiting';
  readonly #source: LogSource;
  readonly #lock: string;
  readonly #name: string;
  readonly #filter: EventFilter;
  readonly #handler: (event: RecordedEventOf<E>, context: ConsumerContext) => unknown;
  readonly #settings: Settings;

  constructor(
    source: LogSource,
    storeName: string,
    name: string,
    filter: EventFilter,
    handler: (event: RecordedEventOf<E>, context: ConsumerContext) => unknown,
    settings: Settings,
  ) {
    this.#source = source;
    this.#lock = `cairn:${storeName}:consumer:${name}`;
    this.#name = name;
    this.#filter = filter;
    this.#handler = handler;
    this.#settings = settings;
  }

  stopped(): void {
    this.state = 'stopped';
  }

  async run(signal: AbortSignal): Promise<void> {
    const release = await acquireLock(this.#lock, signal);
    if (release === undefined) return;
    try {
      if (signal.aborted) return;
      this.state = 'running';
      await this.#consume(signal);
    } finally {
      this.state = 'stopped';
      release();
    }
  }

  /** Runs the handler once more on a dead-lettered event; removes the letter on success, records the new failure otherwise. */
  async retryDeadLetter(position: number, signal: AbortSignal): Promise<void> {
    const { backend } = this.#source;
    const letter = (await backend.deadLetters(this.#name)).find((d) => d.position === position);
    if (letter === undefined) throw new InvalidArgumentError(`Consumer "${this.#name}" has no dead letter at position ${position}`);
    const [stored] = await backend.readEvents([letter.eventId]);
    if (stored === undefined) throw new InvalidArgumentError(`The event ${letter.eventId} of this dead letter is not in the store`);
    try {
      const event = this.#source.decode(stored) as RecordedEventOf<E> | undefined;
      if (event !== undefined) await this.#handler(event, { attempt: letter.attempts + 1, signal });
    } catch (error) {
      // Position 0 never moves a checkpoint: this only records the new failure.
      await backend.advanceConsumer(this.#name, 0, deadLetterOf(stored, error, letter.attempts + 1));
      throw error;
    }
    await backend.discardDeadLetter(this.#name, position);
  }

  async #consume(signal: AbortSignal): Promise<void> {
    const { backend } = this.#source;
    const name = this.#name;
    let checkpoint = await backend.openConsumer(name, this.#settings.from);
    const events = follow(this.#source, this.#filter, checkpoint, {
      signal,
      batchSize: this.#settings.batchSize,
      // Caught up past events the filter skipped: move the checkpoint there, so lag means what it says.
      onCaughtUp: async (position) => {
        if (position <= checkpoint) return;
        await backend.advanceConsumer(name, position);
        checkpoint = position;
      },
    });
    for await (const stored of events) {
      const outcome = await this.#attempt(stored, signal);
      if (outcome === 'stopped') return;
      if (outcome.ok) {
        await backend.advanceConsumer(name, stored.position);
      } else {
        const deadLetter = deadLetterOf(stored, outcome.error, outcome.attempts);
        if (this.#settings.stopOnDeadLetter) {
          await backend.advanceConsumer(name, checkpoint, deadLetter);
          throw outcome.error;
        }
        await backend.advanceConsumer(name, stored.position, deadLetter);
      }
      checkpoint = stored.position;
    }
  }

  /** Tries the handler until it succeeds, retries run out, or the consumer stops. */
  async #attempt(stored: StoredEvent, signal: AbortSignal): Promise<Attempt> {
    const { retries, retryDelay, maxRetryDelay } = this.#settings;
    for (let n = 1; ; n++) {
      try {
        // Inside the try: an event no upcaster can bring up to date fails like a handler would.
        const event = this.#source.decode(stored) as RecordedEventOf<E> | undefined;
        if (event !== undefined) await this.#handler(event, { attempt: n, signal });
        return { ok: true };
      } catch (error) {
        if (n > retries) return { ok: false, error, attempts: n };
        if (signal.aborted) return 'stopped';
        if (!(await sleep(backoff(n - 1, retryDelay, maxRetryDelay), signal))) return 'stopped';
      }
    }
  }
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

function describeError(e: unknown): string {
  if (e instanceof Error) return `${e.name}: ${e.message}`;
  try {
    return typeof e === 'string' ? e : JSON.stringify(e) ?? String(e);
  } catch {
    return String(e);
  }
}
