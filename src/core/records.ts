/**
 * The encoded forms that cross from the page to the engine and back. Event data travels
 * as JSON text: the page serialises it once (validating it), the engine stores the text as
 * it is, and reads hand the text back to be parsed where it is used.
 */
import type { ExpectedVersion, RecordedEvent } from './types.ts';

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

/** A stored event as the engine returns it: a RecordedEvent with data and metadata still as JSON text. */
export type StoredEvent = Omit<RecordedEvent, 'data' | 'metadata'> & {
  /** JSON text. */
  data: string;
  /** JSON text of a plain object, or null when there is none. */
  metadata: string | null;
};

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
