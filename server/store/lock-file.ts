/**
 * A lock file that keeps a second process (or a second server in this one) from opening the
 * embedded database folder: PGlite itself does not notice, and two processes on one folder
 * would each see only their own writes and corrupt it.
 *
 * The file holds the owner's pid and host. A lock whose process is gone (a crash, SIGKILL) is
 * stale and is taken over; one whose process is alive, or that was made on another host, is
 * refused. The takeover removes the stale file and creates a fresh one exclusively (O_EXCL).
 * Two processes taking over the same stale lock at the same instant could, in a window of a
 * few microseconds, both succeed; this guards an embedded default for trying things out,
 * not a production store.
 */
import { mkdir, open, readFile, unlink } from 'node:fs/promises';
import { hostname } from 'node:os';
import { join } from 'node:path';
import { StorageUnavailableError } from '../../src/core/errors.ts';

/** The lock file's name inside the data folder. */
export const LOCK_FILE = 'cairn-server.lock';

/** A held lock. */
export interface HeldLock {
  readonly path: string;
  release(): Promise<void>;
}

/** Takes the folder's lock, or throws STORAGE_UNAVAILABLE naming the process that holds it. */
export async function acquireLock(dir: string): Promise<HeldLock> {
  await mkdir(dir, { recursive: true });
  const path = join(dir, LOCK_FILE);
  const mine = JSON.stringify({ pid: process.pid, host: hostname(), since: new Date().toISOString() });
  for (let attempt = 0; attempt < 5; attempt++) {
    try {
      const file = await open(path, 'wx');
      try {
        await file.writeFile(mine);
        await file.sync();
      } finally {
        await file.close();
      }
      return {
        path,
        async release() {
          // Remove it only if it is still ours.
          const now = await readFile(path, 'utf8').catch(() => undefined);
          if (now === mine) await unlink(path).catch(() => {});
        },
      };
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code !== 'EEXIST') throw e;
    }
    const text = await readFile(path, 'utf8').catch(() => undefined);
    if (text === undefined) continue; // removed in the meantime: try again
    const owner = parseOwner(text);
    if (owner === undefined) {
      // Written but not yet filled by a process starting right now, or garbage: give it a moment.
      if (attempt < 2) {
        await new Promise((r) => setTimeout(r, 50));
        continue;
      }
    } else if (owner.host !== hostname() || isAlive(owner.pid)) {
      throw new StorageUnavailableError(
        `The data folder ${dir} is in use by another cairndb-server (process ${owner.pid}` +
          `${owner.host === hostname() ? '' : ` on ${owner.host}`}). Stop it first, or delete ${path} if no server is running.`,
      );
    }
    // Stale: its process is gone. Remove it only if it is still the file judged stale (another
    // process may have taken it over meanwhile); the exclusive create above then decides.
    if ((await readFile(path, 'utf8').catch(() => undefined)) === text) await unlink(path).catch(() => {});
  }
  throw new StorageUnavailableError(`Cannot take the lock ${path}; delete it if no server is running`);
}

function parseOwner(text: string): { pid: number; host: string } | undefined {
  try {
    const value = JSON.parse(text) as { pid?: unknown; host?: unknown };
    if (Number.isSafeInteger(value.pid) && typeof value.host === 'string') return { pid: value.pid as number, host: value.host };
  } catch {
    // not ours
  }
  return undefined;
}

function isAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (e) {
    return (e as NodeJS.ErrnoException).code === 'EPERM'; // exists, owned by someone else
  }
}
