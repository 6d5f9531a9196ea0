import { beforeAll, describe, expect, it } from 'vitest';
import type { SqlDriver } from '../../src/core/driver.ts';
import { filteredQuery } from '../../src/core/event-log.ts';
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

const filters: Record<string, EventFilter> = {
  none: {},
  stream: { stream: 'cart-1' },
  category: { category: 'cart' },
  oneType: { types: ['T1'] },
  manyTypes: { types: ['T1', 'T2', 'T3'] },
  routingKey: { routingKey: 'eu' },
  streamAndTypes: { stream: 'cart-1', types: ['T1', 'T2'] },
  categoryAndType: { category: 'cart', types: ['T1'] },
  categoryAndRouting: { category: 'cart', routingKey: 'eu' },
  typesAndRouting: { types: ['T1', 'T2'], routingKey: 'eu' },
  everything: { stream: 'cart-1', category: 'cart', types: ['T1'], routingKey: 'eu' },
};

describe('every filtered read is served by an index', () => {
  for (const [name, filter] of Object.entries(filters)) {
    for (const backward of [false, true]) {
      it(`${name}, ${backward ? 'backward' : 'forward'}`, () => {
        const { sql, params } = filteredQuery(filter, backward ? 1_000_000 : 10, backward, 50);
        const plan = db.all<{ detail: string }>(`EXPLAIN QUERY PLAN ${sql}`, params).map((r) => r.detail);
        // A "SCAN events" line would be a walk over the whole log; every access must be a SEARCH.
        expect(plan.filter((d) => /\bSCAN events\b/.test(d)), plan.join('\n')).toEqual([]);
        expect(plan.some((d) => /SEARCH events USING (INDEX|INTEGER PRIMARY KEY|COVERING INDEX)/.test(d)), plan.join('\n')).toBe(true);
      });
    }
  }

  it('reads a stream by its (stream, version) index', () => {
    const plan = db
      .all<{ detail: string }>('EXPLAIN QUERY PLAN SELECT * FROM events WHERE stream = ? AND version >= ? ORDER BY version', ['cart-1', 1])
      .map((r) => r.detail);
    expect(plan.join('\n')).toMatch(/SEARCH events USING INDEX events_stream/);
    expect(plan.join('\n')).not.toMatch(/TEMP B-TREE/);
  });
});
