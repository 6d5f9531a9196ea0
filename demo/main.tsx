/**
 * The playground: opens the store (OPFS in a browser that has it) on its own worker with the
 * `cart_totals` projection, starts this tab's instances of the shop's process manager and
 * mailer, and renders the app (React, on `cairndb/react`) beside the inspector
 * (`cairndb/devtools`).
 */
import { openStore } from 'cairndb';
import { CairnProvider } from 'cairndb/react';
import { StrictMode } from 'react';
import { createRoot } from 'react-dom/client';
import { App } from './app.tsx';
import { startShopWorkers, type ShopEvents } from './shop.ts';

const store = await openStore<ShopEvents>({
  name: 'playground',
  worker: () => new Worker(new URL('./shop.worker.ts', import.meta.url), { type: 'module' }),
});
document.body.dataset.storage = store.storage;
const workers = startShopWorkers(store);

createRoot(document.getElementById('root')!).render(
  <StrictMode>
    <CairnProvider store={store}>
      <App workers={workers} />
    </CairnProvider>
  </StrictMode>,
);
