/**
 * The inspector beside the app: `mountInspector` from `cairndb/devtools` on the same store,
 * with this tab's process manager and mailer registered so that their dead letters can be
 * retried and discarded from it.
 */
import { mountInspector } from 'cairndb/devtools';
import { useStore } from 'cairndb/react';
import { useEffect, useRef } from 'react';
import type { ShopEvents, ShopWorkers } from './shop.ts';

/** The inspector pane. */
export function InspectorPane({ workers }: { workers: ShopWorkers }) {
  const store = useStore<ShopEvents>();
  const host = useRef<HTMLDivElement>(null);
  useEffect(() => {
    const inspector = mountInspector(store, host.current!);
    inspector.register(workers.checkout);
    inspector.register(workers.mailer);
    return () => inspector.close();
  }, [store, workers]);
  return <aside className="inspector-pane" ref={host} aria-label="Cairn inspector" />;
}
