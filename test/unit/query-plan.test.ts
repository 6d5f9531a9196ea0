import { beforeAll, describe, expect, it } from 'vitest';
import type { SqlDriver, SqlValue } from '../../src/core/driver.ts';
import { filteredQuery, readStreamEvents } from '../../src/core/event-log.ts';
import { migrate } from '../../src/core/schema.ts';
import { createSqliteWasmDriver } from '../../src/core/sqlite-wasm-driver.ts';
import { loadSqlite } from '../../src/core/sqlite-wasm.ts';
import type { EventFilter } from '../../src/core/types.ts';

let db: SqlDriver;

beforeAll(async () => {
  const sqlite3 = await loadSqlite();
  db = createSqliteWasmDriver(sqlite3, new sqlite3.oo1.DB(':memory:', 'c'));
  migrate(db);
  // Give the planner a realistic table: statistics that would tempt it to scan.
  db.exec(`WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < 2000)
    INSERT INTO events (id, stream, category, version, type, data, routing_key, timestamp)
    SELECT printf('01J%023d', i), 'cart-' || (i % 50), 'cart', i / 50 + 1, 'T' || (i % 4), '{}',
           CASE WHEN i % 2 THEN 'eu' END, 0 FROM n`);
  db.exec('ANALYZE');
});

/** Each filter, with the index that must drive its read (the most selective one it names). */
const filters: Record<string, { filter: EventFilter; index: string }> = {
  none: { filter: {}, index: 'INTEGER PRIMARY KEY' },
  stream: { filter: { stream: 'cart-1' }, index: 'INDEX events_stream' },
  category: { filter: { category: 'cart' }, index: 'INDEX events_category' },
  oneType: { filter: { types: ['T1'] }, index: 'INDEX events_type' },
  manyTypes: { filter: { types: ['T1', 'T2', 'T3'] }, index: 'INDEX events_type' },
  routingKey: { filter: { routingKey: 'eu' }, index: 'INDEX events_routing_key' },
  streamAndTypes: { filter: { stream: 'cart-1', types: ['T1', 'T2'] }, index: 'INDEX events_stream' },
  categoryAndType: { filter: { category: 'cart', types: ['T1'] }, index: 'INDEX events_category' },
  categoryAndRouting: { filter: { category: 'cart', routingKey: 'eu' }, index: 'INDEX events_category' },
  typesAndRouting: { filter: { types: ['T1', 'T2'], routingKey: 'eu' }, index: 'INDEX events_type' },
  everything: { filter: { stream: 'cart-1', category: 'cart', types: ['T1'], routingKey: 'eu' }, index: 'INDEX events_stream' },
};

/** The plan's lines that read the events table. */
function eventAccesses(sql: string, params: readonly SqlValue[]): string[] {
  return db
    .all<{ detail: string }>(`EXPLAIN QUERY PLAN ${sql}`, params)
    .map((r) => r.detail)
    .filter((d) => /\b(SCAN|SEARCH) events\b/.test(d));
}

describe('every filtered read is served by the index its filter names', () => {
  for (const [name, { filter, index }] of Object.entries(filters)) {
    for (const backward of [false, true]) {
      it(`${name}, ${backward ? 'backward' : 'forward'}: ${index}`, () => {
        const { sql, params } = filteredQuery(filter, backward ? 1_000_000 : 10, backward, 50);
        const accesses = eventAccesses(sql, params);
        expect(accesses.length, sql).toBeGreaterThan(0);
        // Every access is a SEARCH on the named index: no SCAN, and no rowid range (which,
        // under a filter, walks the whole log from the boundary on).
        for (const access of accesses) {
          expect(access).toMatch(/^SEARCH events USING /);
          expect(access.replace('COVERING INDEX', 'INDEX')).toContain(`USING ${index}`);
        }
      });
    }
  }

  it('reads a stream, both ways, by its (stream, version) index with no sort', () => {
    // The store's own SQL: record what readStreamEvents asks the driver.
    const asked: { sql: string; params: readonly SqlValue[] }[] = [];
    const recording = new Proxy(db, {
      get(target, key, receiver) {
        const value = Reflect.get(target, key, receiver) as unknown;
        if (key !== 'get' && key !== 'all') return typeof value === 'function' ? value.bind(target) : value;
        return (sql: string, params: readonly SqlValue[] = []) => {
          asked.push({ sql, params });
          return (value as (s: string, p: readonly SqlValue[]) => unknown).call(target, sql, params);
        };
      },
    });
    for (const backward of [false, true]) {
      asked.length = 0;
      const events = readStreamEvents(recording, 'cart-1', undefined, backward, 10);
      expect(events.length).toBe(10);
      expect(asked.length).toBeGreaterThan(0);
      for (const { sql, params } of asked) {
        const plan = db.all<{ detail: string }>(`EXPLAIN QUERY PLAN ${sql}`, params).map((r) => r.detail);
        const accesses = plan.filter((d) => /\b(SCAN|SEARCH) events\b/.test(d));
        expect(accesses, plan.join('\n')).toEqual([expect.stringMatching(/^SEARCH events USING INDEX events_stream \(stream=\? AND version[<>]\?\)$/)]);
        expect(plan.join('\n')).not.toMatch(/TEMP B-TREE/);
      }
    }
  });
});
