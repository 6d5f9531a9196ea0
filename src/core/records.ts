/**
 * The encoded forms that cross from the page to the engine and back. Event data travels
 * as JSON text: the page serialises it once (validating it), the engine stores the text as
 * it is, and reads hand the text back to be parsed where it is used.
 */
import type { ExpectedVersion } from './types.ts';

/** An event validated and serialised for storage. */
export interface EncodedEvent {
  id: string;
  type: string;
  /** JSON text. */
  data: string;
  /** JSON text of a plain object, or null when there is none. */
  metadata: string | null;
  schemaVersion: number;
}

/** One stream's encoded append. */
export interface AppendRequest {
  stream: string;
  events: EncodedEvent[];
  expectedVersion: ExpectedVersion;
  routingKey: string | null;
}

/** A stored event as the engine returns it, with data still as JSON text. */
export interface StoredEvent {
  id: string;
  stream: string;
  category: string;
  version: number;
  position: number;
  type: string;
  data: string;
  metadata: string | null;
  routingKey: string | null;
  timestamp: number;
  schemaVersion: number;
}

/** A page of stored events, ascending, with what lies beyond it. */
export interface StoredPage {
  events: StoredEvent[];
  hasNextPage: boolean;
  hasPreviousPage: boolean;
}

/** Events after a position, in global order, and the log's head when they were read. */
export interface StoredBatch {
  events: StoredEvent[];
  /**
   * The newest position when the batch was read. When the batch holds fewer events than
   * were asked for, every matching event up to `head` is in it.
   */
  head: number;
}
