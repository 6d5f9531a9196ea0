/**
 * The embedded default, for trying the server out without a database: PGlite (PostgreSQL in
 * WebAssembly) in a data folder, behind the same `Storage` interface.
 *
 * - One connection, so every statement, transaction and session runs one after another,
 *   through one queue. Late commits cannot happen inside one process; the reader's horizon
 *   query still runs, and simply never holds anything back.
 * - PGlite runs with fsync off: fine for trying things out, not for production data.
 * - A lock file guards the folder: PGlite does not notice a second process on it.
 * - `@electric-sql/pglite` is an optional dependency, imported only here and only when no
 *   database is given, so it never reaches a server that has one (nor any browser bundle).
 */
import { join } from 'node:path';
import type { PGlite, Transaction } from '@electric-sql/pglite';
import { StorageUnavailableError } from '../../src/core/errors.ts';
import { acquireLock } from './lock-file.ts';
import type { Queryable, Row, Storage } from './storage.ts';

/** Opens (creating it if needed) the embedded database in `dir`. */
export async function openPglite(dir: string): Promise<Storage> {
  const lock = await acquireLock(dir);
  let db: PGlite;
  try {
    let module: typeof import('@electric-sql/pglite');
    try {
      module = await import('@electric-sql/pglite');
    } catch (e) {
      throw new StorageUnavailableError(
        'The embedded database needs the optional dependency @electric-sql/pglite (npm install @electric-sql/pglite), ' +
          'or pass `database` (a postgres:// URL)',
        { cause: e },
      );
    }
    db = await module.PGlite.create(join(dir, 'pgdata'));
  } catch (e) {
    await lock.release();
    throw e;
  }

  // One connection: everything queues behind whatever runs now.
  let tail: Promise<unknown> = Promise.resolve();
  function serial<T>(fn: () => Promise<T>): Promise<T> {
    const run = tail.then(fn, fn);
    tail = run.catch(() => {});
    return run;
  }
  const on = (q: PGlite | Transaction): Queryable => ({
    async query<R extends Row>(sql: string, params?: readonly unknown[]) {
      const result = await q.query<R>(sql, params as unknown[] | undefined);
      return { rows: result.rows, rowCount: result.affectedRows ?? result.rows.length };
    },
    async exec(sql: string) {
      await q.exec(sql);
    },
  });
  const direct = on(db);
  let closed = false;

  return {
    kind: 'pglite',
    query: (sql, params) => serial(() => direct.query(sql, params)),
    exec: (sql) => serial(() => direct.exec(sql)),
    transaction: (fn) => serial(() => db.transaction((tx) => fn(on(tx)))),
    session: (fn) => serial(() => fn(direct)),
    async listen(channel, onNotify) {
      // In-process: nothing can drop, so there is never a gap to report.
      const stop = await serial(() => db.listen(channel, onNotify));
      return async () => {
        if (!closed) await serial(() => stop());
      };
    },
    async close() {
      if (closed) return;
      closed = true;
      try {
        await serial(() => db.close());
      } finally {
        await lock.release();
      }
    },
  };
}
