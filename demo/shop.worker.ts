/**
 * The playground's worker: a Cairn store with one projection, `cart_totals`, kept in the
 * same transaction as the events it is built from: each cart's lines, items and status
 * (open, checking out, ordered). Version 2 follows the carts of the worked example; a store
 * made by version 1 is rebuilt from its log when it opens (the inspector shows the progress).
 */
import { serve, type Projection } from 'cairndb/worker';

const cartTotals: Projection = {
  name: 'cart_totals',
  version: 2,
  setup(db) {
    db.exec(`CREATE TABLE cart_totals (
      id TEXT PRIMARY KEY, lines INTEGER NOT NULL, qty INTEGER NOT NULL, status TEXT NOT NULL DEFAULT 'open')`);
  },
  handle(event, db) {
    if (event.type === 'ItemAdded' && event.category === 'cart') {
      const qty = Number((event.data as { qty?: unknown } | null)?.qty ?? 1);
      db.run(
        `INSERT INTO cart_totals (id, lines, qty) VALUES (?, 1, ?)
         ON CONFLICT (id) DO UPDATE SET lines = lines + 1, qty = qty + excluded.qty`,
        [event.stream, qty],
      );
    } else if (event.type === 'CheckoutRequested') {
      db.run("UPDATE cart_totals SET status = 'checking out' WHERE id = ?", [event.stream]);
    } else if (event.type === 'OrderPlaced') {
      const cartId = String((event.data as { cartId?: unknown } | null)?.cartId ?? '');
      db.run("UPDATE cart_totals SET status = 'ordered' WHERE id = ?", [`cart-${cartId}`]);
    }
  },
};

serve({ projections: [cartTotals] });
