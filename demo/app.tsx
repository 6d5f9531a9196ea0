/**
 * The playground's layout: the shop (carts, checkout, the mailer's switch), the load
 * generator, the tabs, a raw append form and the store's data as files on the left (with the
 * device's sync first, when it syncs); the inspector on the right.
 */
import { useStore } from 'cairndb/react';
import { Suspense, useEffect, useState } from 'react';
import { AppendForm } from './append-form.tsx';
import { CartPanel } from './cart-panel.tsx';
import { DataPanel } from './data-panel.tsx';
import { InspectorPane } from './inspector-pane.tsx';
import { LoadPanel } from './load-panel.tsx';
import { LiveFeed } from './live-feed.tsx';
import type { ShopEvents, ShopWorkers } from './shop.ts';
import { SyncPanel } from './sync-panel.tsx';
import { TabsPanel } from './tabs-panel.tsx';

/** The playground app. */
export function App({ workers, device }: { workers: ShopWorkers; device?: string | undefined }) {
  const store = useStore<ShopEvents>();
  const [role, setRole] = useState(store.role);
  useEffect(() => store.onRoleChange(setRole), [store]);
  useEffect(() => {
    document.body.dataset.role = role;
  }, [role]);
  return (
    <div className="layout">
      <div className="app">
        <header>
          <h1>Cairn playground</h1>
          <p id="status">
            Store <code>{store.name}</code> on <b>{store.storage}</b>, this tab is the <b data-testid="role">{role}</b>.
          </p>
        </header>
        {device === undefined ? null : <SyncPanel device={device} />}
        <Suspense fallback={<p className="muted">Loading the carts…</p>}>
          <CartPanel />
        </Suspense>
        <LoadPanel />
        <TabsPanel role={role} />
        <LiveFeed />
        <AppendForm />
        <DataPanel />
      </div>
      <InspectorPane workers={workers} />
    </div>
  );
}
