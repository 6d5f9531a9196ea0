// A page on its own worker: appends, then reads the projection the worker keeps.
import { openStore } from 'cairndb';

type ShopEvents = { ItemAdded: { sku: string; qty: number } };

try {
  const store = await openStore<ShopEvents>({
    name: 'own-worker',
    worker: () => new Worker(new URL('./shop.worker.ts', import.meta.url), { type: 'module' }),
  });
  await store.append('cart-7', [{ type: 'ItemAdded', data: { sku: 'B2', qty: 3 } }]);
  const [row] = await store.query<{ qty: number }>('SELECT qty FROM cart_totals WHERE id = ?', ['cart-7']);
  const events = await store.readStream('cart-7');
  const result = { storage: store.storage, role: store.role, qty: row?.qty ?? null, events: events.length };
  await store.close();
  console.log(`result: ${JSON.stringify(result)}`);
  document.title = 'done';
} catch (e) {
  console.error(`own worker failed: ${String(e)}`);
  document.title = 'failed';
}
