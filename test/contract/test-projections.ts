/**
 * The projections the live scenarios run with, shared by the Node tests (passed to
 * `openStore`) and the browser harness's worker (passed to `serve`).
 */
import type { Projection } from '../../src/core/projection.ts';

/** The named sets of projections a scenario can open a store with. */
export type ProjectionSetName = 'shop-v1' | 'shop-v2';

/** How many events a rebuild batch applies in the tests: small, so a rebuild takes many batches. */
export const TEST_REBUILD_BATCH = 7;

/** Per cart: how many items were added and the total quantity. `Poison` events make it throw. */
function cartTotals(version: number): Projection {
  return {
    name: 'cart_totals',
    version,
    setup(db) {
      db.exec(`CREATE TABLE cart_totals (id TEXT PRIMARY KEY, items INTEGER NOT NULL, qty INTEGER NOT NULL);
               CREATE INDEX cart_totals_qty ON cart_totals (qty);`);
    },
    handle(event, db) {
      const data = event.data as { qty?: number } | null;
      if (event.type === 'Poison') throw new Error(`cart_totals refuses event ${event.id}`);
      if (event.type === 'ItemAdded') {
        db.run(
          `INSERT INTO cart_totals (id, items, qty) VALUES (?, 1, ?)
           ON CONFLICT (id) DO UPDATE SET items = items + 1, qty = qty + excluded.qty`,
          [event.stream, data?.qty ?? 1],
        );
      } else if (event.type === 'ItemRemoved') {
        db.run('UPDATE cart_totals SET items = items - 1, qty = qty - ? WHERE id = ?', [data?.qty ?? 1, event.stream]);
      } else if (event.type === 'CartCleared') {
        db.run('DELETE FROM cart_totals WHERE id = ?', [event.stream]);
      }
    },
  };
}

/** Events per type, in a WITHOUT ROWID table (to check that its writes are seen too). */
function typeCounts(version: number): Projection {
  return {
    name: 'type_counts',
    version,
    setup(db) {
      db.exec('CREATE TABLE type_counts (type TEXT PRIMARY KEY, n INTEGER NOT NULL) WITHOUT ROWID');
    },
    handle(event, db) {
      db.run('INSERT INTO type_counts (type, n) VALUES (?, 1) ON CONFLICT (type) DO UPDATE SET n = n + 1', [event.type]);
    },
  };
}

/** The projections of a named set. */
export function projectionSet(name: ProjectionSetName): Projection[] {
  switch (name) {
    case 'shop-v1':
      return [cartTotals(1), typeCounts(1)];
    case 'shop-v2':
      return [cartTotals(2), typeCounts(1)];
  }
}
