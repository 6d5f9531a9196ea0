/**
 * The PRAGMAs a store's database on OPFS is opened with, in one place, so that the worker
 * and the Node tests that simulate power loss under the same engine run exactly the same
 * configuration (measured on these machines, see README "Storage"):
 * - `locking_mode=EXCLUSIVE` + `journal_mode=WAL`: one commit appends to the WAL instead of
 *   rewriting pages and a rollback journal. WAL needs exclusive locking here, since the
 *   sahpool VFS has no shared memory; exclusivity is what the VFS gives us anyway. The
 *   locking mode comes first: it must be set before the WAL is first opened.
 * - `synchronous=FULL` for strict durability (the WAL is flushed at every commit) or
 *   `NORMAL` for relaxed (flushed at checkpoints: a crash may lose the last commits, never
 *   corrupt the log).
 */
import type { Durability } from './types.ts';

/** The PRAGMA statements to run on a freshly opened database, before anything reads it. */
export function storagePragmas(durability: Durability): string {
  const synchronous = durability === 'strict' ? 'FULL' : 'NORMAL';
  return `PRAGMA locking_mode = EXCLUSIVE; PRAGMA journal_mode = WAL; PRAGMA synchronous = ${synchronous};`;
}
