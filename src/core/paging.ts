/**
 * Relay-style pages of the global log: `first`/`after` page forward, `last`/`before`
 * backward, on opaque cursors over the global position. A page is always returned in
 * ascending order, with whether anything lies beyond each of its ends.
 */
import { decodeCursor } from './cursor.ts';
import type { SqlDriver } from './driver.ts';
import { InvalidArgumentError } from './errors.ts';
import { readFiltered } from './event-log.ts';
import { DEFAULT_PAGE_SIZE, MAX_PAGE_SIZE } from './limits.ts';
import type { StoredPage } from './records.ts';
import type { EventFilter, PageArgs } from './types.ts';

/** A checked page request. */
export interface PagePlan {
  backward: boolean;
  /** The position the page starts after (forward) or before (backward). */
  boundary: number;
  size: number;
  /** Whether the page starts at a cursor, so something may lie behind it. */
  fromCursor: boolean;
}

/** Checks the paging arguments and turns them into a plan. */
export function planPage(page: PageArgs): PagePlan {
  if (page.first !== undefined && page.last !== undefined) {
    throw new InvalidArgumentError('Give either first or last, not both');
  }
  const backward = page.last !== undefined || (page.before !== undefined && page.first === undefined);
  if (backward && page.after !== undefined) throw new InvalidArgumentError('after pages forward; use it with first');
  if (!backward && page.before !== undefined) throw new InvalidArgumentError('before pages backward; use it with last');
  const size = (backward ? page.last : page.first) ?? DEFAULT_PAGE_SIZE;
  if (!Number.isSafeInteger(size) || size < 0 || size > MAX_PAGE_SIZE) {
    throw new InvalidArgumentError(`A page size must be an integer from 0 to ${MAX_PAGE_SIZE}, got ${String(size)}`);
  }
  const cursor = backward ? page.before : page.after;
  if (cursor !== undefined && typeof cursor !== 'string') throw new InvalidArgumentError('A cursor is a string');
  const boundary = cursor !== undefined ? decodeCursor(cursor) : backward ? Number.MAX_SAFE_INTEGER : 0;
  return {
    backward,
    size,
    boundary,
    // Nothing lies before position 0, so a forward read from there needs no look behind.
    fromCursor: cursor !== undefined && (backward || boundary > 0),
  };
}

/** Reads one page: one more row than asked tells whether there is more ahead, one row the other way whether there is more behind. */
export function readPage(db: SqlDriver, filter: EventFilter, plan: PagePlan): StoredPage {
  const rows = readFiltered(db, filter, plan.boundary, plan.backward, plan.size + 1);
  const more = rows.length > plan.size;
  if (more) rows.pop();
  const behind =
    plan.fromCursor &&
    readFiltered(db, filter, plan.backward ? plan.boundary - 1 : plan.boundary + 1, !plan.backward, 1).length > 0;
  if (plan.backward) rows.reverse();
  return plan.backward
    ? { events: rows, hasPreviousPage: more, hasNextPage: behind }
    : { events: rows, hasNextPage: more, hasPreviousPage: behind };
}
