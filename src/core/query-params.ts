/** The checks on what `store.query` and `watch` are given besides their SQL. */
import type { SqlValue } from './driver.ts';
import { InvalidArgumentError } from './errors.ts';
import { isWellFormed } from './validate.ts';

const INT64_MIN = -(2n ** 63n);
const INT64_MAX = 2n ** 63n - 1n;
/** The longest time budget a query may be given, in ms. */
export const MAX_QUERY_TIMEOUT = 10 * 60_000;

/** Checks query parameters: SQL values, with booleans as 1 and 0, BigInts within SQLite's 64-bit range. */
export function checkQueryParams(params: unknown): SqlValue[] {
  if (!Array.isArray(params)) throw new InvalidArgumentError('Query parameters must be an array');
  return params.map((p: unknown, i) => {
    if (typeof p === 'boolean') return p ? 1 : 0;
    if (p === null || p instanceof Uint8Array) return p;
    if (typeof p === 'string') {
      if (!isWellFormed(p)) throw new InvalidArgumentError(`Query parameter ${i} is not well-formed Unicode (a lone surrogate)`);
      return p;
    }
    if (typeof p === 'number' && Number.isFinite(p)) return p;
    if (typeof p === 'bigint') {
      if (p < INT64_MIN || p > INT64_MAX) throw new InvalidArgumentError(`Query parameter ${i} is outside SQLite's 64-bit integer range`);
      return p;
    }
    throw new InvalidArgumentError(`Query parameter ${i} is not a SQL value: ${typeof p === 'number' ? String(p) : typeof p}`);
  });
}

/** Checks a time budget in ms; undefined when none is given. */
export function validateTimeout(value: unknown, what: string): number | undefined {
  if (value === undefined) return undefined;
  if (typeof value !== 'number' || !Number.isFinite(value) || value <= 0 || value > MAX_QUERY_TIMEOUT) {
    throw new InvalidArgumentError(`${what} must be a number of ms from 1 to ${MAX_QUERY_TIMEOUT}, got ${String(value)}`);
  }
  return value;
}
