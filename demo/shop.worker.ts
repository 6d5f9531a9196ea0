/**
 * The playground's worker: a Cairn store with one projection, `cart_totals`, kept in the
 * same transaction as the events it is built from.
 */
import { serve, type Projection } from 'cairndb/worker';

const cartTotals: Projection = {
  name: 'cart_totals',
  version: 1,
  setup(db) {
    db.exec('CREATE TABLE cart_totals (id TEXT PRIMARY KEY, items INTEGER NOT NULL, qty INTEGER NOT NULL)');
  },
  handle(event, db) {
    if (event.category !== 'cart') return;
    const qty = Number((event.data as { qty?: unknown } | null)?.qty ?? 1);
    if (event.type === 'ItemAdded') {
      db.run(
        `INSERT INTO cart_totals (id, items, qty) VALUES (?, 1, ?)
         ON CONFLICT (id) DO UPDATE SET items = items + 1, qty = qty + excluded.qty`,
        [event.stream, qty],
      );
    } else if (event.type === 'ItemRemoved') {
      db.run('UPDATE cart_totals SET items = max(items - 1, 0), qty = max(qty - ?, 0) WHERE id = ?', [qty, event.stream]);
    } else if (event.type === 'CheckedOut') {
      db.run('DELETE FROM cart_totals WHERE id = ?', [event.stream]);
    }
  },
};

serve({ projections: [cartTotals] });
