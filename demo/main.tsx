/**
 * The playground: opens the store (OPFS in a browser that has it) on its own worker with the
 * `cart_totals` projection, syncing to a server when the URL names one (`sync-config.ts`,
 * `npm run demo:sync`), starts this tab's instances of the shop's process manager and
 * mailer, and renders the app (React, on `cairndb/react`) beside the inspector
 * (`cairndb/devtools`).
 */
import { openStore } from 'cairndb';
import { CairnProvider } from 'cairndb/react';
import { StrictMode } from 'react';
import { createRoot } from 'react-dom/client';
import { App } from './app.tsx';
import { startShopWorkers, type ShopEvents } from './shop.ts';
import { playgroundStore } from './sync-config.ts';

const config = playgroundStore(location.search);
const store = await openStore<ShopEvents>({
  name: config.name,
  worker: () => new Worker(new URL('./shop.worker.ts', import.meta.url), { type: 'module' }),
  ...(config.syncUrl === undefined ? {} : { sync: { url: config.syncUrl } }),
});
document.body.dataset.storage = store.storage;
if (config.device !== undefined) document.title = `Cairn playground: device ${config.device.toUpperCase()}`;
const workers = startShopWorkers(store);

createRoot(document.getElementById('root')!).render(
  <StrictMode>
    <CairnProvider store={store}>
      <App workers={workers} device={config.device} />
    </CairnProvider>
  </StrictMode>,
);
