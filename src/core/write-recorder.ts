/**
 * The port between the engine and a storage that keeps an in-memory database durable by
 * itself (IndexedDB mode, `src/storage/indexeddb.ts`): the engine tells it where each write
 * begins and ends, and the commit queue asks it to make each committed transaction durable
 * before anyone hears of it.
 *
 * Invariants the engine keeps for it:
 * - `record` is called around every write, and nothing else changes the database while a
 *   recording runs (a drain is synchronous); a write that threw is ended with `kept: false`,
 *   and what SQLite rolled back to its savepoint is then not in the recording.
 * - `discard` is called whenever a transaction ends without committing (SQLite rolled it
 *   back, or COMMIT failed), before anything runs again.
 * - `commit` is called once after every COMMIT, before its callbacks run; no drain runs until
 *   the promise it returns settles.
 */

/** Records what each write changed, and makes each committed transaction durable. */
export interface WriteRecorder {
  /**
   * Starts recording one write. The function returned ends the recording, keeping what the
   * write changed when `kept`, and returns the tables the write touched (lower-cased).
   */
  record(): (kept: boolean) => readonly string[];
  /** The transaction ended without committing: what was kept of it is dropped. */
  discard(): void;
  /**
   * The transaction just committed: resolves once it is durable, or rejects (a CairnError:
   * QUOTA_EXCEEDED, STORAGE_UNAVAILABLE) once it has been taken back out of the database.
   * Undefined when the transaction changed nothing.
   */
  commit(): Promise<void> | undefined;
}
