/**
 * The commit queue's durable step (`afterCommit`), as IndexedDB mode uses it, under a fake
 * step the test controls: nothing settles before the step resolves, nothing else runs while
 * it is pending, a failed step's group runs again one write per transaction, and a group
 * refused for quota at COMMIT is split the same way.
 */
import { describe, expect, it } from 'vitest';
import { CommitQueue } from '../../src/core/commit-queue.ts';
import { SqlError, type SqlDriver } from '../../src/core/driver.ts';
import { QuotaExceededError } from '../../src/core/errors.ts';
import { toCairnError } from '../../src/core/sql-errors.ts';
import { createSqliteWasmDriver } from '../../src/core/sqlite-wasm-driver.ts';
import { loadSqlite } from '../../src/core/sqlite-wasm.ts';

async function table(): Promise<SqlDriver> {
  const sqlite3 = await loadSqlite();
  const driver = createSqliteWasmDriver(sqlite3, new sqlite3.oo1.DB(':memory:', 'c'));
  driver.exec('CREATE TABLE t (v TEXT NOT NULL)');
  return driver;
}

const rows = (db: SqlDriver): string[] => db.all<{ v: string }>('SELECT v FROM t ORDER BY rowid').map((r) => r.v);

/** A durable step that waits for the test, and records the rows each transaction left. */
function controlledStep(db: SqlDriver) {
  const steps: { rows: string[]; resolve: () => void; reject: (e: unknown) => void }[] = [];
  return {
    steps,
    afterCommit: () =>
      new Promise<void>((resolve, reject) => {
        steps.push({ rows: rows(db), resolve, reject });
      }),
  };
}

const tick = (): Promise<void> => new Promise((r) => setTimeout(r, 5));

describe('the durable step after COMMIT', () => {
  it('settles nothing before the step resolves, and runs nothing while it is pending', async () => {
    const db = await table();
    const step = controlledStep(db);
    const queue = new CommitQueue(db, { afterCommit: step.afterCommit });
    const settled: string[] = [];
    const a = queue.write(() => db.run("INSERT INTO t VALUES ('a')")).then(() => settled.push('a'));
    const b = queue.write(() => db.run("INSERT INTO t VALUES ('b')")).then(() => settled.push('b'));
    await tick();
    expect(step.steps.map((s) => s.rows)).toEqual([['a', 'b']]);
    // Arrives while the first group is being made durable: waits, then forms the next group.
    const c = queue.write(() => db.run("INSERT INTO t VALUES ('c')")).then(() => settled.push('c'));
    const read = queue.read(() => rows(db));
    await tick();
    expect(settled).toEqual([]);
    expect(step.steps).toHaveLength(1);
    step.steps[0]!.resolve();
    await Promise.all([a, b]);
    await tick();
    expect(step.steps.map((s) => s.rows)).toEqual([['a', 'b'], ['a', 'b', 'c']]);
    expect(settled).toEqual(['a', 'b']);
    step.steps[1]!.resolve();
    await c;
    expect(await read).toEqual(['a', 'b', 'c']);
    await queue.close();
  });

  it('runs a group whose step failed again one write per transaction; only the write that fails alone is refused', async () => {
    const db = await table();
    let calls = 0;
    /** The last rowid made durable. */
    let durable = 0;
    const queue = new CommitQueue(db, {
      mapError: toCairnError,
      afterCommit: () => {
        calls++;
        if (!rows(db).includes('big')) {
          durable = Number(db.get<{ r: number }>('SELECT max(rowid) AS r FROM t')?.r ?? 0);
          return Promise.resolve();
        }
        // As IndexedDB mode does: take the transaction back out, then refuse.
        db.run('DELETE FROM t WHERE rowid > ?', [durable]);
        return Promise.reject(new QuotaExceededError('full'));
      },
    });
    await queue.write(() => db.run("INSERT INTO t VALUES ('kept')"));
    const outcomes = await Promise.allSettled([
      queue.write(() => db.run("INSERT INTO t VALUES ('s1')")),
      queue.write(() => db.run("INSERT INTO t VALUES ('big')")),
      queue.write(() => db.run("INSERT INTO t VALUES ('s2')")),
    ]);
    expect(outcomes.map((o) => o.status)).toEqual(['fulfilled', 'rejected', 'fulfilled']);
    expect((outcomes[1] as PromiseRejectedResult).reason).toMatchObject({ code: 'QUOTA_EXCEEDED' });
    expect(rows(db)).toEqual(['kept', 's1', 's2']);
    // kept, the group, then s1, big and s2 one by one.
    expect(calls).toBe(5);
    await queue.close();
  });

  it('splits a group refused for quota at COMMIT into one write per transaction', async () => {
    const db = await table();
    let refuseCommits = 1;
    const run = db.run;
    const full: SqlDriver = {
      ...db,
      run: (sql, params) => {
        if (sql === 'COMMIT' && refuseCommits-- > 0) {
          run('ROLLBACK');
          throw new SqlError('FULL', 'database or disk is full');
        }
        return run(sql, params);
      },
    };
    const queue = new CommitQueue(full, { mapError: toCairnError });
    const commits: string[][] = [];
    const write = (v: string) => queue.write(() => full.run(`INSERT INTO t VALUES ('${v}')`), () => commits.push(rows(db)));
    const results = await Promise.allSettled([write('x'), write('y')]);
    expect(results.map((r) => r.status)).toEqual(['fulfilled', 'fulfilled']);
    expect(commits).toEqual([['x'], ['x', 'y']]);
    await queue.close();
  });

  it('close waits for a pending step, then refuses new requests', async () => {
    const db = await table();
    const step = controlledStep(db);
    const queue = new CommitQueue(db, { afterCommit: step.afterCommit });
    const w = queue.write(() => db.run("INSERT INTO t VALUES ('z')"));
    await tick();
    let closed = false;
    const closing = queue.close().then(() => (closed = true));
    await tick();
    expect(closed).toBe(false);
    step.steps[0]!.resolve();
    await Promise.all([w, closing]);
    await expect(queue.read(() => 1)).rejects.toMatchObject({ code: 'STORE_CLOSED' });
  });
});
