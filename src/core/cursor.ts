/** Opaque page cursors. They wrap the global position, never a timestamp. */
import { InvalidArgumentError } from './errors.ts';

const PREFIX = 'cairn:1:';

/** The cursor of the event at `position`. */
export function encodeCursor(position: number): string {
  return btoa(PREFIX + position.toString(10));
}

/** The position a cursor points at; `INVALID_ARGUMENT` if it is not one of ours. */
export function decodeCursor(cursor: string): number {
  let text: string;
  try {
    text = atob(cursor);
  } catch {
    throw new InvalidArgumentError(`Not a Cairn cursor: ${JSON.stringify(cursor)}`);
  }
  const position = Number(text.slice(PREFIX.length));
  if (!text.startsWith(PREFIX) || !Number.isSafeInteger(position) || position < 0) {
    throw new InvalidArgumentError(`Not a Cairn cursor: ${JSON.stringify(cursor)}`);
  }
  return position;
}
