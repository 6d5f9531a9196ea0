/**
 * The page the storage specs drive (`test/storage/`): the public API, the contract
 * scenarios on any storage, and workers that play the private-window cases. The specs call
 * into `window.storageTest` with `page.evaluate`.
 */
import * as cairn from '../../../src/client/index.ts';
import { appendLoop } from '../../contract/append-loop.ts';
import { liveScenarios, type LiveScenarioName } from '../../contract/live-scenarios.ts';
import { caught, scenarios, type ScenarioName } from '../../contract/scenarios.ts';
import type { ProjectionSetName } from '../../contract/test-projections.ts';

const projectionWorkers: Record<ProjectionSetName, () => Worker> = {
  'shop-v1': () => new Worker(new URL('./shop-v1.worker.ts', import.meta.url), { type: 'module' }),
  'shop-v2': () => new Worker(new URL('./shop-v2.worker.ts', import.meta.url), { type: 'module' }),
};

/** Workers that play a private window (or a browser with storage disabled). */
const privateWorkers = {
  /** OPFS's API is missing (Safari private windows). */
  noOpfs: () => new Worker(new URL('./no-opfs.worker.ts', import.meta.url), { type: 'module' }),
  /** OPFS is there but refuses with SecurityError (Firefox private windows). */
  opfsRefused: () => new Worker(new URL('./opfs-refused.worker.ts', import.meta.url), { type: 'module' }),
  /** OPFS refuses, and IndexedDB refuses to open too. */
  noStorage: () => new Worker(new URL('./no-storage.worker.ts', import.meta.url), { type: 'module' }),
};

let n = 0;
/** Workers started by `trackedWorker`, by store name: a test can terminate them. */
const workers = new Map<string, Worker[]>();

const harness = {
  cairn,
  caught,
  privateWorkers,
  /** Runs a contract scenario on fresh stores of `storage`. */
  runScenario(name: ScenarioName, storage: cairn.StorageOption, prefix: string) {
    const open = (options: Partial<cairn.OpenStoreOptions> = {}) =>
      cairn.openStore({ name: `${prefix}-${name}-${Date.now()}-${n++}`, storage, ...options });
    return scenarios[name]({ open });
  },
  /** Runs a live scenario on stores of `storage` (the projection sets run in their own workers). */
  runLiveScenario(name: LiveScenarioName, storage: cairn.StorageOption, prefix: string) {
    return liveScenarios[name]({
      fresh: (p) => `${prefix}-${p}-${Date.now()}-${n++}`,
      open: (storeName, projections) =>
        cairn.openStore({ name: storeName, storage, ...(projections === undefined ? {} : { worker: projectionWorkers[projections] }) }),
    });
  },
  /** Opens a store with a private-window worker and says what storage it got, and that it works. */
  async openPrivate(kind: keyof typeof privateWorkers, storage: cairn.StorageOption, name: string) {
    const store = await cairn.openStore({ name, storage, worker: privateWorkers[kind] });
    const appended = await store.append('p-1', [{ type: 'Private' }]);
    const head = await store.head();
    await store.close();
    return { storage: store.storage, position: appended.position, head };
  },
  /** Appends numbered batches in a loop until the page dies, reporting each acknowledged one to `ack`. */
  async appendLoop(name: string, storage: cairn.StorageOption, ack: (batch: number) => void) {
    return appendLoop(await cairn.openStore({ name, storage }), ack);
  },
  /** Every event of a store, as [batch, i] pairs, read through the public API. */
  async dump(name: string, storage: cairn.StorageOption) {
    const store = await cairn.openStore({ name, storage });
    const out: [number, number][] = [];
    for await (const e of store.events({}, { batchSize: 2000 })) {
      const d = e.data as { batch: number; i: number };
      out.push([d.batch, d.i]);
    }
    const kept = store.storage;
    await store.close();
    return { storage: kept, events: out };
  },
  /** A worker factory that keeps the workers it starts, so a test can kill them. */
  trackedWorker(name: string): () => Worker {
    return () => {
      const w = new Worker(new URL('../../../worker/default.ts', import.meta.url), { type: 'module' });
      workers.set(name, [...(workers.get(name) ?? []), w]);
      return w;
    };
  },
  /** Terminates the last worker `trackedWorker(name)` started; returns how many it has started. */
  killWorker(name: string): number {
    const list = workers.get(name) ?? [];
    list.at(-1)?.terminate();
    return list.length;
  },
  /** How many workers `trackedWorker(name)` has started. */
  workersStarted(name: string): number {
    return workers.get(name)?.length ?? 0;
  },
  /** Stores kept open on the page by name, for tests that act on them across calls. */
  stores: new Map<string, cairn.Store>(),
  /** The page's last pageshow (set below). */
  shows: { persisted: false, count: 0 },
};

/** The page's last `pageshow`: whether it came from the back/forward cache, and how many there were. */
const shows = { persisted: false, count: 0 };
addEventListener('pageshow', (event) => {
  shows.persisted = event.persisted;
  shows.count++;
});
harness.shows = shows;

declare global {
  interface Window {
    storageTest: typeof harness;
  }
}
window.storageTest = harness;
document.title = 'ready';
