/** Opaque page cursors. They wrap the global position, never a timestamp. */
import { InvalidArgumentError } from './errors.ts';

const PREFIX = 'cairn:1:';

/** The cursor of the event at `position`. */
export function encodeCursor(position: number): string {
  return btoa(PREFIX + position.toString(10));
}

/** The position a cursor points at; `INVALID_ARGUMENT` if it is not one of ours. */
export function decodeCursor(cursor: string): number {
  const refuse = (): never => {
    throw new InvalidArgumentError(`Not a Cairn cursor: ${JSON.stringify(String(cursor).slice(0, 100))}`);
  };
  if (typeof cursor !== 'string' || cursor.length > 64) refuse();
  let text = '';
  try {
    text = atob(cursor);
  } catch {
    refuse();
  }
  // Only what encodeCursor makes: the prefix, then a position in plain decimal, nothing else
  // (no sign, exponent, hex, leading zero or blank), and the cursor in canonical base64.
  const digits = text.slice(PREFIX.length);
  if (!text.startsWith(PREFIX) || !/^(0|[1-9][0-9]*)$/.test(digits)) refuse();
  const position = Number(digits);
  if (!Number.isSafeInteger(position) || encodeCursor(position) !== cursor) refuse();
  return position;
}
