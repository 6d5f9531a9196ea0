// An app's own worker: the store's projections run here.
import { serve, type Projection } from 'cairndb/worker';

const cartTotals: Projection = {
  name: 'cart_totals',
  version: 1,
  setup: (db) => db.exec('CREATE TABLE cart_totals (id TEXT PRIMARY KEY, qty INTEGER NOT NULL)'),
  handle: (event, db) => {
    if (event.type !== 'ItemAdded') return;
    const { qty } = event.data as { qty: number };
    db.run('INSERT INTO cart_totals VALUES (?, ?) ON CONFLICT (id) DO UPDATE SET qty = qty + excluded.qty', [event.stream, qty]);
  },
};

serve({ projections: [cartTotals] });
