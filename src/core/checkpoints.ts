/**
 * The SQL of durable consumers: one checkpoint per consumer name (the position of the last
 * event it finished) and the dead letters it gave up on. The runner that drives them lives
 * on the page (`src/client/consumer.ts`); this is only what it stores.
 */
import type { SqlDriver } from './driver.ts';
import { InvalidArgumentError } from './errors.ts';
import { headPosition } from './event-log.ts';
import type { StartPosition } from './types.ts';
import { validateConsumerName, validateStart } from './validate.ts';

/** Where a consumer that has no checkpoint yet starts: the beginning, the current end, or after a position. */
export type ConsumerStart = StartPosition;

/** An event a consumer gave up on, as `advanceConsumer` records it. */
export interface DeadLetterInput {
  position: number;
  eventId: string;
  /** The last error, as text. */
  error: string;
  /** How many times the handler was tried. */
  attempts: number;
  /** What else the consumer knows of the failure, as JSON text (a process manager: the command). */
  detail?: string | null;
}

/** A recorded dead letter. */
export interface DeadLetter extends DeadLetterInput {
  consumer: string;
  /** When it was recorded, in ms since the epoch. */
  at: number;
}

/** A consumer's progress, as `store.consumers()` reports it. */
export interface ConsumerInfo {
  name: string;
  /** The position of the last event it finished (or skipped past). */
  position: number;
  /** How many positions of the log lie after its checkpoint. */
  lag: number;
  deadLetters: number;
  /** When the checkpoint last moved, in ms since the epoch. */
  updatedAt: number;
}

/** Creates the consumer's checkpoint at `start` unless it has one; returns the checkpoint. */
export function openCheckpoint(db: SqlDriver, name: string, start: ConsumerStart, now: number): number {
  validateConsumerName(name);
  const existing = db.get<{ position: number }>('SELECT position FROM cairn_consumers WHERE name = ?', [name]);
  if (existing !== undefined) return Number(existing.position);
  validateStart(start, 'A consumer start');
  const position = start === 'start' ? 0 : start === 'end' ? headPosition(db) : start;
  db.run('INSERT INTO cairn_consumers (name, position, updated_at) VALUES (?, ?, ?)', [name, position, now]);
  return position;
}

/** Moves a checkpoint forward (never back), recording a dead letter with it if one is given. */
export function advanceCheckpoint(
  db: SqlDriver,
  name: string,
  position: number,
  deadLetter: DeadLetterInput | undefined,
  now: number,
): void {
  validateConsumerName(name);
  if (!Number.isSafeInteger(position) || position < 0) {
    throw new InvalidArgumentError(`A checkpoint is a position >= 0, got ${String(position)}`);
  }
  const head = headPosition(db);
  if (position > head) {
    throw new InvalidArgumentError(`A checkpoint cannot move past the head of the log (${head}), got ${position}: the consumer would skip events not yet written`);
  }
  if (deadLetter !== undefined) validateDeadLetter(deadLetter);
  const moved = db.run(
    'UPDATE cairn_consumers SET position = max(position, ?), updated_at = ? WHERE name = ?',
    [position, now, name],
  );
  if (moved.changes === 0) {
    db.run('INSERT INTO cairn_consumers (name, position, updated_at) VALUES (?, ?, ?)', [name, position, now]);
  }
  if (deadLetter !== undefined) {
    // One dead letter per consumer and event: a re-sent request, or a consumer that stopped
    // at the event and failed on it again after a restart, updates it.
    db.run(
      `INSERT INTO cairn_dead_letters (consumer, position, event_id, error, attempts, at, detail) VALUES (?, ?, ?, ?, ?, ?, ?)
       ON CONFLICT (consumer, position) DO UPDATE SET error = excluded.error, attempts = excluded.attempts, at = excluded.at, detail = excluded.detail`,
      [name, deadLetter.position, String(deadLetter.eventId), String(deadLetter.error), deadLetter.attempts, now, deadLetter.detail ?? null],
    );
  }
}

function validateDeadLetter(d: DeadLetterInput): void {
  if (typeof d !== 'object' || d === null) throw new InvalidArgumentError('A dead letter must be an object');
  if (!Number.isSafeInteger(d.position) || d.position < 1) throw new InvalidArgumentError('A dead letter needs the position of its event');
  if (typeof d.eventId !== 'string' || typeof d.error !== 'string') throw new InvalidArgumentError('A dead letter needs its event id and error as text');
  if (!Number.isSafeInteger(d.attempts) || d.attempts < 1) throw new InvalidArgumentError('A dead letter needs its attempts, an integer >= 1');
  if (d.detail !== undefined && d.detail !== null) {
    try {
      JSON.parse(d.detail);
    } catch {
      throw new InvalidArgumentError("A dead letter's detail must be JSON text");
    }
  }
}

/** Every consumer's checkpoint, lag and dead-letter count, by name. */
export function listConsumers(db: SqlDriver): ConsumerInfo[] {
  const head = headPosition(db);
  return db
    .all<{ name: string; position: number; updatedAt: number; deadLetters: number }>(
      `SELECT name, position, updated_at AS updatedAt,
              (SELECT count(*) FROM cairn_dead_letters d WHERE d.consumer = c.name) AS deadLetters
         FROM cairn_consumers c ORDER BY name`,
    )
    .map((r) => ({
      name: r.name,
      position: Number(r.position),
      lag: Math.max(0, head - Number(r.position)),
      deadLetters: Number(r.deadLetters),
      updatedAt: Number(r.updatedAt),
    }));
}

/** The dead letters of one consumer, or of all, oldest first. */
export function listDeadLetters(db: SqlDriver, consumer: string | undefined): DeadLetter[] {
  const columns = 'consumer, position, event_id AS eventId, error, attempts, at, detail';
  const rows =
    consumer === undefined
      ? db.all<DeadLetter>(`SELECT ${columns} FROM cairn_dead_letters ORDER BY id`)
      : db.all<DeadLetter>(`SELECT ${columns} FROM cairn_dead_letters WHERE consumer = ? ORDER BY id`, [consumer]);
  return rows.map((r) => ({ ...r, position: Number(r.position), attempts: Number(r.attempts), at: Number(r.at) }));
}

/** Removes a consumer's dead letter; true if there was one. */
export function discardDeadLetter(db: SqlDriver, consumer: string, position: number): boolean {
  validateConsumerName(consumer);
  return db.run('DELETE FROM cairn_dead_letters WHERE consumer = ? AND position = ?', [consumer, position]).changes > 0;
}
