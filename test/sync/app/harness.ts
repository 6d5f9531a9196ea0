/**
 * The page the sync specs drive (`test/sync/`): a store on OPFS that syncs to the server the
 * spec started, through the public API only. The specs call into `window.syncTest` with
 * `page.evaluate`; every failure comes back as what `caught` reports of it (its code and
 * whether it is a CairnError), so a spec can check the error's class.
 */
import * as cairn from '../../../src/client/index.ts';
import { caught } from '../../contract/scenarios.ts';

type Conflict = Awaited<ReturnType<cairn.Store['sync']['conflicts']>>[number];

/** A store open on this page, with what its sync told the page. */
interface Opened {
  store: cairn.Store;
  /** Every batch `onConflict` gave, in order. */
  conflictsSeen: Conflict[][];
  /** Every state `onStatus` gave, in order. */
  states: string[];
}

const opened = new Map<string, Opened>();

function get(name: string): Opened {
  const o = opened.get(name);
  if (o === undefined) throw new Error(`The store "${name}" is not open on this page`);
  return o;
}

const harness = {
  caught,
  /** Opens `name` on OPFS, syncing to `url` with `token`; keeps it on the page. */
  async open(name: string, url: string, token: string, options: { interval?: number } = {}) {
    const store = await cairn.openStore({
      name,
      storage: 'opfs',
      sync: { url, token: () => token, ...(options.interval === undefined ? {} : { interval: options.interval }) },
    });
    const o: Opened = { store, conflictsSeen: [], states: [store.sync.status.state] };
    store.sync.onConflict((found) => void o.conflictsSeen.push(found));
    store.sync.onStatus((s) => void o.states.push(s.state));
    opened.set(name, o);
    return { role: store.role, storage: store.storage, status: store.sync.status };
  },
  /** Appends events of `types` to `stream`; the result, or what it threw. */
  async append(name: string, stream: string, types: string[], expectedVersion?: number | 'any' | 'no_stream') {
    const { store } = get(name);
    let result: cairn.AppendResult | undefined;
    const error = await caught(async () => {
      result = await store.append(
        stream,
        types.map((type) => ({ type, data: { from: type } })),
        expectedVersion === undefined ? {} : { expectedVersion },
      );
    });
    return { result, error };
  },
  /** Appends `count` one-event appends to `stream`, all issued at once; their ids. */
  async appendMany(name: string, stream: string, count: number) {
    const { store } = get(name);
    const results = await Promise.all(Array.from({ length: count }, (_, i) => store.append(stream, [{ type: 'Bulk', data: { i } }])));
    return results.map((r) => r.ids[0]!);
  },
  /** Every event of the store, by stream then version: what convergence compares. */
  async log(name: string) {
    const { store } = get(name);
    const out: { id: string; stream: string; version: number; type: string; serverPosition: number | null }[] = [];
    for await (const e of store.events({}, { batchSize: 2000 })) {
      out.push({ id: e.id, stream: e.stream, version: e.version, type: e.type, serverPosition: e.serverPosition });
    }
    return out.sort((a, b) => (a.stream < b.stream ? -1 : a.stream > b.stream ? 1 : a.version - b.version));
  },
  /** The store's sync status now. */
  status(name: string): cairn.Store['sync']['status'] {
    return get(name).store.sync.status;
  },
  /** The store's role now. */
  role(name: string): cairn.Role {
    return get(name).store.role;
  },
  /** What `onConflict` has told this page so far. */
  conflictsSeen(name: string) {
    return get(name).conflictsSeen;
  },
  /** The states `onStatus` has told this page so far. */
  states(name: string) {
    return get(name).states;
  },
  /** `store.sync.conflicts()`. */
  conflicts(name: string) {
    return get(name).store.sync.conflicts();
  },
  /** `store.sync.resolve(id, how)`; the results, or what it threw. */
  async resolve(name: string, id: number, how: 'rebase' | 'discard') {
    let results: cairn.AppendResult[] | undefined;
    const error = await caught(async () => {
      results = await get(name).store.sync.resolve(id, how);
    });
    return { results, error };
  },
  /** `store.sync.now()`: null when it caught up, else what it threw. */
  now(name: string) {
    return caught(() => get(name).store.sync.now());
  },
  async close(name: string) {
    await get(name).store.close();
    opened.delete(name);
  },
};

declare global {
  interface Window {
    syncTest: typeof harness;
  }
}
window.syncTest = harness;
document.title = 'ready';
