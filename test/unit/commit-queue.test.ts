import { beforeEach, describe, expect, it } from 'vitest';
import { SqlError, type SqlDriver } from '../../src/core/driver.ts';
import { createEngine, type Engine } from '../../src/core/engine.ts';
import { createIdFactory, encodeAppend } from '../../src/core/encode.ts';
import { isVersionConflict } from '../../src/core/errors.ts';
import { createSqliteWasmDriver } from '../../src/core/sqlite-wasm-driver.ts';
import { loadSqlite } from '../../src/core/sqlite-wasm.ts';
import type { AppendOptions } from '../../src/core/types.ts';

/** A driver that records the transaction statements it runs, and can be made to fail COMMIT. */
async function recordingDriver() {
  const sqlite3 = await loadSqlite();
  const inner = createSqliteWasmDriver(sqlite3, new sqlite3.oo1.DB(':memory:', 'c'));
  const log: string[] = [];
  let failCommits = 0;
  const driver: SqlDriver = {
    ...inner,
    run(sql, params) {
      if (/^(BEGIN|COMMIT|ROLLBACK|SAVEPOINT|RELEASE)/.test(sql)) {
        log.push(sql);
        if (sql === 'COMMIT' && failCommits > 0) {
          failCommits--;
          throw new SqlError('IOERR_FSYNC', 'disk I/O error');
        }
      }
      return inner.run(sql, params);
    },
  };
  return { driver, log, failCommits: (n: number) => (failCommits = n) };
}

const ids = createIdFactory();
const req = (stream: string, type = 'E', options: AppendOptions = {}) =>
  encodeAppend(stream, [{ type }], options, ids, 1 << 20);

describe('group commit', () => {
  let engine: Engine;
  let rec: Awaited<ReturnType<typeof recordingDriver>>;
  beforeEach(async () => {
    rec = await recordingDriver();
    engine = createEngine(rec.driver);
    rec.log.length = 0;
  });

  it('runs single appends that arrive together as one insert, in one transaction, at the versions and positions of one by one', async () => {
    const results = await Promise.all(Array.from({ length: 20 }, (_, i) => engine.append(req(`s-${i % 3}`, `E${i}`))));
    expect(results.map((r) => r.position)).toEqual(Array.from({ length: 20 }, (_, i) => i + 1));
    expect(results.map((r) => r.version)).toEqual(Array.from({ length: 20 }, (_, i) => Math.floor(i / 3) + 1));
    expect(rec.log).toEqual(['BEGIN IMMEDIATE', 'SAVEPOINT batch', 'RELEASE batch', 'COMMIT']);
    const stored = (await engine.read({}, { first: 20 })).events;
    expect(stored.map((e) => [e.stream, e.version, e.position, e.type, e.id])).toEqual(
      results.map((r, i) => [r.stream, r.version, r.position, `E${i}`, r.ids[0]]),
    );
    expect((await engine.readStream('s-1')).map((e) => e.version)).toEqual([1, 2, 3, 4, 5, 6, 7]);
  });

  it('runs a batch that cannot go as one insert one by one: a retry replays, a reused id and a conflict fail alone', async () => {
    const first = req('a');
    const original = await engine.append(first);
    rec.log.length = 0;
    const reused = req('c');
    const taken = { ...req('d'), events: [{ ...req('d').events[0]!, id: reused.events[0]!.id }] };
    const outcomes = await Promise.allSettled([
      engine.append(req('b')),
      engine.append(first),
      engine.append(reused),
      engine.append(taken),
      engine.append(req('a', 'E', { expectedVersion: 'no_stream' })),
      engine.append(req('b')),
    ]);
    const codes = outcomes.map((o) => (o.status === 'fulfilled' ? o.value.version : (o.reason as { code: string }).code));
    expect(codes).toEqual([1, 1, 1, 'DUPLICATE_EVENT_ID', 'VERSION_CONFLICT', 2]);
    expect((outcomes[1] as PromiseFulfilledResult<unknown>).value).toEqual(original);
    expect(rec.log.slice(0, 3)).toEqual(['BEGIN IMMEDIATE', 'SAVEPOINT batch', 'ROLLBACK TO batch']);
    expect(rec.log.filter((s) => s === 'COMMIT')).toHaveLength(1);
    const page = await engine.read({}, { first: 10 });
    expect(page.events.map((e) => `${e.stream}@${e.version}`)).toEqual(['a@1', 'b@1', 'c@1', 'b@2']);
  });

  it('runs a group again one write at a time when its batch took the transaction with it', async () => {
    const inner = rec.driver.run;
    let failures = 1;
    rec.driver.run = (sql, params) => {
      if (failures > 0 && sql.includes('json_each(?2)')) {
        failures--;
        inner('ROLLBACK');
        throw new SqlError('IOERR_WRITE', 'disk I/O error');
      }
      return inner(sql, params);
    };
    const results = await Promise.all(Array.from({ length: 5 }, (_, i) => engine.append(req(`s-${i}`))));
    expect(results.map((r) => r.position)).toEqual([1, 2, 3, 4, 5]);
    expect(rec.log.filter((s) => s === 'BEGIN IMMEDIATE')).toHaveLength(2);
    expect(rec.log.filter((s) => s === 'SAVEPOINT request')).toHaveLength(5);
    expect(await engine.head()).toBe(5);
  });

  it('rolls back a failing request alone; the rest of the group commits', async () => {
    await engine.append(req('a'));
    rec.log.length = 0;
    const outcomes = await Promise.allSettled([
      engine.append(req('b')),
      engine.append(req('a', 'E', { expectedVersion: 'no_stream' })),
      engine.append(req('c')),
    ]);
    expect(outcomes.map((o) => o.status)).toEqual(['fulfilled', 'rejected', 'fulfilled']);
    expect(isVersionConflict((outcomes[1] as PromiseRejectedResult).reason)).toBe(true);
    expect(rec.log).toContain('ROLLBACK TO request');
    expect(rec.log.filter((s) => s === 'COMMIT')).toHaveLength(1);
    const page = await engine.read({}, { first: 10 });
    expect(page.events.map((e) => e.stream)).toEqual(['a', 'b', 'c']);
  });

  it('resolves each append only after the COMMIT that holds it', async () => {
    const order: string[] = [];
    const inner = rec.driver.run;
    rec.driver.run = (sql, params) => {
      if (sql === 'COMMIT') order.push('commit');
      return inner(sql, params);
    };
    await Promise.all([engine.append(req('x')).then(() => order.push('x')), engine.append(req('y')).then(() => order.push('y'))]);
    expect(order).toEqual(['commit', 'x', 'y']);
  });

  it('tries a group whose COMMIT failed once more in a new transaction', async () => {
    rec.failCommits(1);
    const results = await Promise.all([engine.append(req('p')), engine.append(req('q'))]);
    expect(results.map((r) => r.position)).toEqual([1, 2]);
    expect(rec.log.filter((s) => s === 'COMMIT')).toHaveLength(2);
    expect((await engine.read({}, { first: 10 })).events.map((e) => e.stream)).toEqual(['p', 'q']);
  });

  it('rejects the whole group, typed, and keeps nothing when COMMIT fails again', async () => {
    rec.failCommits(2);
    const outcomes = await Promise.allSettled([engine.append(req('p')), engine.append(req('q'))]);
    expect(outcomes.map((o) => o.status)).toEqual(['rejected', 'rejected']);
    expect((outcomes[0] as PromiseRejectedResult).reason).toMatchObject({ code: 'STORAGE_UNAVAILABLE' });
    expect(await engine.head()).toBe(0);
    // The engine still works afterwards.
    expect((await engine.append(req('p'))).position).toBe(1);
  });

  it('runs a lone write without a savepoint, and rolls it back whole when it fails', async () => {
    await engine.append(req('solo'));
    rec.log.length = 0;
    await expect(engine.append(req('solo', 'E', { expectedVersion: 'no_stream' }))).rejects.toMatchObject({ code: 'VERSION_CONFLICT' });
    expect(rec.log).toEqual(['BEGIN IMMEDIATE', 'ROLLBACK']);
    rec.log.length = 0;
    await engine.append(req('solo'));
    expect(rec.log).toEqual(['BEGIN IMMEDIATE', 'COMMIT']);
  });

  it('answers a read queued behind writes with those writes applied', async () => {
    const write = engine.append(req('r'));
    const read = engine.readStream('r');
    await write;
    expect((await read).map((e) => e.version)).toEqual([1]);
  });

  it('coalesces the commit notices of one drain', async () => {
    const notices: unknown[] = [];
    engine.onCommit((n) => notices.push(n));
    await Promise.all([engine.append(req('n-1', 'A')), engine.append(req('n-2', 'B')), engine.append(req('n-1', 'A'))]);
    await Promise.resolve();
    expect(notices).toMatchObject([{ head: 3, streams: ['n-1', 'n-2'], types: ['A', 'B'] }]);
    expect((notices[0] as { tables: string[] }).tables).toContain('events');
  });
});
