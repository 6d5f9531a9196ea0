/**
 * The page the browser tests drive. It exposes the public API and the contract scenarios
 * on `window.cairnTest`; the tests call into it with `page.evaluate`.
 */
import * as cairn from '../../../src/client/index.ts';
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
