/**
 * The page the browser tests drive. It exposes the public API and the contract scenarios
 * on `window.cairnTest`; the tests call into it with `page.evaluate`.
 */
import * as cairn from '../../../src/client/index.ts';
import { createRpcClient } from '../../../src/protocol/rpc.ts';
import type { WorkerApi } from '../../../src/protocol/api.ts';
import { caught, scenarios, type ScenarioName } from '../../contract/scenarios.ts';
import { installTabs } from './tabs.ts';

let n = 0;
const stores = new Map<string, cairn.Store>();

const harness = {
  cairn,
  caught,
  stores,
  /** Runs a contract scenario on fresh stores of the given storage. */
  runScenario(name: ScenarioName, storage: cairn.StorageOption, prefix: string) {
    const open = (options: Partial<cairn.OpenStoreOptions> = {}) =>
      cairn.openStore({ name: `${prefix}-${name}-${n++}`, storage, ...options });
    return scenarios[name]({ open });
  },
  /** Opens (or returns) a store kept on the page under `name`. */
  async open(name: string, options: Partial<cairn.OpenStoreOptions> = {}) {
    let store = stores.get(name);
    if (store === undefined) {
      store = await cairn.openStore({ name, ...options });
      stores.set(name, store);
    }
    return { storage: store.storage, role: store.role };
  },
  /** The default worker, driven over raw RPC: lets a test send what the page API would refuse. */
  rawWorker() {
    const worker = new Worker(new URL('../../../worker/default.ts', import.meta.url), { type: 'module' });
    const rpc = createRpcClient<WorkerApi>(worker);
    return { remote: rpc.remote, terminate: () => worker.terminate() };
  },
  /** Appends batches in a loop until stopped, reporting each acknowledged batch to `ack`. */
  async appendLoop(name: string, ack: (batch: number) => void) {
    const store = await cairn.openStore({ name, storage: 'opfs' });
    for (let batch = 0; ; batch++) {
      const events = Array.from({ length: 5 }, (_, i) => ({ type: 'Crash', data: { batch, i, pad: 'x'.repeat(200) } }));
      if (batch % 2 === 0) {
        await store.append(`crash-${batch % 7}`, events);
      } else {
        // Across two streams, all or nothing.
        await store.appendMany([
          { stream: `crash-${batch % 7}`, events: events.slice(0, 3) },
          { stream: `other-${batch % 3}`, events: events.slice(3) },
        ]);
      }
      ack(batch);
    }
  },
  /** Every event of a store, as [batch, i] pairs, read through the public API. */
  async dump(name: string) {
    const store = await cairn.openStore({ name, storage: 'opfs' });
    const out: [number, number][] = [];
    for await (const e of store.events({}, { batchSize: 2000 })) {
      const d = e.data as { batch: number; i: number };
      out.push([d.batch, d.i]);
    }
    await store.close();
    return out;
  },
  /** A worker whose global scope has no OPFS, as in a private window. */
  noOpfsWorker: () => new Worker(new URL('./no-opfs.worker.ts', import.meta.url), { type: 'module' }),
};

declare global {
  interface Window {
    cairnTest: typeof harness;
  }
}
window.cairnTest = harness;
installTabs();
document.title = 'ready';
