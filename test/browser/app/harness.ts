/**
 * The page the browser tests drive. It exposes the public API and the contract scenarios
 * on `window.cairnTest`; the tests call into it with `page.evaluate`.
 */
import * as cairn from '../../../src/client/index.ts';
import { appendLoop } from '../../contract/append-loop.ts';
import { createRpcClient } from '../../../src/protocol/rpc.ts';
import type { WorkerApi } from '../../../src/protocol/api.ts';
import { caught, scenarios, type ScenarioName } from '../../contract/scenarios.ts';
import { installTabs } from './tabs.ts';
import { installLiveTabs } from './live-tabs.ts';
import { liveScenarios, type LiveScenarioName } from '../../contract/live-scenarios.ts';
import type { ProjectionSetName } from '../../contract/test-projections.ts';
import { runGroups, type Command } from '../../contract/model-commands.ts';

/** Workers with the test projections (one file per set: Vite needs static worker options). */
const projectionWorkers: Record<ProjectionSetName, () => Worker> = {
  'shop-v1': () => new Worker(new URL('./shop-v1.worker.ts', import.meta.url), { type: 'module' }),
  'shop-v2': () => new Worker(new URL('./shop-v2.worker.ts', import.meta.url), { type: 'module' }),
};

/** Opens a store on OPFS, retrying while a closing tab's worker still holds it. */
async function openRetrying(options: cairn.OpenStoreOptions): Promise<cairn.Store> {
  for (let attempt = 0; ; attempt++) {
    try {
      return await cairn.openStore(options);
    } catch (e) {
      if (!cairn.isStorageUnavailable(e) || attempt >= 100) throw e;
      await new Promise((r) => setTimeout(r, 50));
    }
  }
}

/** A list kept in localStorage, which outlives reloads and is shared by the tabs. */
function record(key: string, value: number): void {
  const list = JSON.parse(localStorage.getItem(key) ?? '[]') as number[];
  list.push(value);
  localStorage.setItem(key, JSON.stringify(list));
}

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
  /** Runs one model-test sequence on a fresh store of its own (OPFS, through the worker), then closes it. */
  async runModel(name: string, groups: Command[][]) {
    const store = await cairn.openStore({ name, storage: 'opfs' });
    try {
      return await runGroups(store, groups);
    } finally {
      await store.close();
    }
  },
  /**
   * Plays a same-origin script that skips the page API: it finds the leader of `store` on the
   * store's BroadcastChannel, posts forged requests straight to the leader's inbox, and
   * collects each reply's error code ('ok' for a success, 'no reply' after 5 s).
   */
  async forgeToLeader(store: string): Promise<Record<string, string>> {
    const me = `intruder-${Math.random().toString(36).slice(2)}`;
    const storeChannel = new BroadcastChannel(`cairn:${store}`);
    const inbox = new BroadcastChannel(`cairn:${store}#${me}`);
    // The leader answers a hello in the asker's inbox.
    const leader = await new Promise<string>((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error('no leader answered hello')), 5_000);
      inbox.onmessage = (e: MessageEvent<{ kind?: string; leader?: string }>) => {
        if (e.data?.kind === 'leader' && typeof e.data.leader === 'string') {
          clearTimeout(timer);
          resolve(e.data.leader);
        }
      };
      storeChannel.postMessage({ kind: 'hello', from: me });
    });
    const toLeader = new BroadcastChannel(`cairn:${store}#${leader}`);
    const replies = new Map<number, (code: string) => void>();
    inbox.onmessage = (e: MessageEvent<{ kind?: string; id?: number; ok?: boolean; error?: { code?: string } }>) => {
      if (e.data?.kind !== 'reply' || typeof e.data.id !== 'number') return;
      replies.get(e.data.id)?.(e.data.ok === true ? 'ok' : String(e.data.error?.code));
    };
    let id = 0;
    const call = (message: Record<string, unknown>) =>
      new Promise<string>((resolve) => {
        const mine = ++id;
        const timer = setTimeout(() => resolve('no reply'), 5_000);
        replies.set(mine, (code) => {
          clearTimeout(timer);
          resolve(code);
        });
        toLeader.postMessage({ kind: 'request', id: mine, from: me, to: leader, ...message });
      });
    const event = (change: Record<string, unknown> = {}) => ({
      id: '01J0000000000000000000FORG'.replace('FORG', String(id).padStart(4, '0')),
      type: 'Forged',
      data: '{}',
      metadata: null,
      schemaVersion: 1,
      ...change,
    });
    const append = (eventChange: Record<string, unknown>, requestChange: Record<string, unknown> = {}) => ({
      op: 'append',
      args: [{ stream: 'forged-1', events: [event(eventChange)], expectedVersion: 'any', routingKey: null, ...requestChange }],
    });
    const codes: Record<string, string> = {};
    const cases: [string, Record<string, unknown>][] = [
      ['data that is not JSON', append({ data: '{not json' })],
      ['metadata that is an array', append({ metadata: '[1,2]' })],
      ["schemaVersion 'x'", append({ schemaVersion: 'x' })],
      ['an id that is not a ULID', append({ id: 'x' })],
      ['a routing key that is a number', append({}, { routingKey: 42 })],
      ['a stream with a lone surrogate', append({}, { stream: 'x\uD800' })],
      ['no arguments', { op: 'append', args: [] }],
      ['args that are not a list', { op: 'append', args: 'append' }],
      ['a consumer opened', { op: 'openConsumer', args: ['mailer', 'start'] }],
      ['a consumer moved past the head', { op: 'advanceConsumer', args: ['mailer', 1e12] }],
      ["the sync runner's own applyPulled", { op: 'applyPulled', args: [[]] }],
      ["the sync runner's own outboxPushed", { op: 'outboxPushed', args: [[]] }],
      ['an operation that does not exist', { op: 'dropEverything', args: [] }],
      ['a query that writes', { op: 'query', args: ['DELETE FROM events', [], {}] }],
      ['a query that never ends', { op: 'query', args: ['WITH RECURSIVE c(x) AS (SELECT 1 UNION ALL SELECT x+1 FROM c) SELECT count(*) FROM c', [], { timeoutMs: 200 }] }],
    ];
    for (const [what, message] of cases) codes[what] = await call(message);
    // A message that is not a request at all (no id, no op) gets no reply and must not stop the leader.
    toLeader.postMessage({ kind: 'request', from: me, to: leader });
    toLeader.postMessage('garbage');
    toLeader.postMessage(null);
    codes['a good append afterwards'] = await call(append({}));
    for (const channel of [storeChannel, inbox, toLeader]) channel.close();
    return codes;
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
  /**
   * For the crash loop: keeps `inFlight` appends in flight at once (so they group-commit),
   * each a batch labelled with `round`, `tab` and its sequence number, alternately one
   * stream's append and an appendMany across two streams; reports each acknowledged batch
   * with its results. Runs until the browser dies.
   */
  async appendInFlight(name: string, round: number, tab: string, inFlight: number, ack: (batch: unknown) => void) {
    const store = await openRetrying({ name, storage: 'opfs' });
    let seq = 0;
    const one = async (): Promise<void> => {
      for (;;) {
        const s = seq++;
        const events = Array.from({ length: 3 }, (_, i) => ({ type: 'Crash', data: { round, tab, seq: s, i, pad: 'x'.repeat(100 + ((s * 37) % 400)) } }));
        const results =
          s % 2 === 0
            ? [await store.append(`crash-${s % 5}`, events)]
            : await store.appendMany([
                { stream: `crash-${s % 5}`, events: events.slice(0, 2) },
                { stream: `other-${s % 3}`, events: events.slice(2) },
              ]);
        ack({ round, tab, seq: s, results });
      }
    };
    await Promise.all(Array.from({ length: inFlight }, one));
  },
  /** Every event of the store, with its labels, and SQLite's integrity check. */
  async crashDump(name: string) {
    const store = await openRetrying({ name, storage: 'opfs' });
    const events: { id: string; stream: string; version: number; position: number; round: number; tab: string; seq: number; i: number }[] = [];
    for await (const e of store.events({}, { batchSize: 1000 })) {
      const d = e.data as { round: number; tab: string; seq: number; i: number };
      events.push({ id: e.id, stream: e.stream, version: e.version, position: e.position, round: d.round, tab: d.tab, seq: d.seq, i: d.i });
    }
    const integrity = await store.query<{ integrity_check: string }>('PRAGMA integrity_check');
    await store.close();
    return { events, integrity: integrity.map((r) => r.integrity_check) };
  },
  /** Appends batches in a loop until stopped, reporting each acknowledged batch to `ack`. */
  async appendLoop(name: string, ack: (batch: number) => void) {
    return appendLoop(await cairn.openStore({ name, storage: 'opfs' }), ack);
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
  /** Runs a live scenario on OPFS stores (the projection sets run in their own workers). */
  runLiveScenario(name: LiveScenarioName, prefix: string) {
    return liveScenarios[name]({
      fresh: (p) => `${prefix}-${p}-${Date.now()}-${n++}`,
      open: (storeName, projections) =>
        cairn.openStore({
          name: storeName,
          storage: 'opfs',
          ...(projections === undefined ? {} : { worker: projectionWorkers[projections] }),
        }),
    });
  },
  /** Opens `name` on OPFS (retrying while another tab lets it go) and appends `count` numbered events. */
  async openAndAppend(name: string, count: number) {
    const store = stores.get(name) ?? (await openRetrying({ name, storage: 'opfs' }));
    stores.set(name, store);
    for (let i = 0; i < count; i++) await store.append('job-1', [{ type: 'Job', data: i }]);
    return store.head();
  },
  /**
   * Starts consumer `consumer` on the open store `name`. Its handler records in localStorage
   * each position it starts and finishes, and never finishes the event at `hangAt`.
   */
  startRecordingConsumer(name: string, consumer: string, hangAt?: number) {
    const store = stores.get(name);
    if (store === undefined) throw new Error(`Store ${name} is not open`);
    const c = store.consumer(consumer, {}, async (e) => {
      record(`${name}:started`, e.position);
      if (e.position === hangAt) await new Promise(() => {});
      record(`${name}:finished`, e.position);
    });
    return c.state;
  },
  /** What `startRecordingConsumer`'s handlers recorded. */
  recorded(name: string) {
    const read = (key: string) => JSON.parse(localStorage.getItem(`${name}:${key}`) ?? '[]') as number[];
    return { started: read('started'), finished: read('finished') };
  },
  /**
   * Opens `name` and starts the process manager 'checkout': each OrderPlaced checks out its
   * cart, then notifies a mailbox whose decide hangs forever while localStorage 'pm-hang' is
   * '1' (so a test can reload the page in the middle of the reaction).
   */
  async startCheckout(name: string) {
    const store = await cairn.openStore({ name, storage: 'opfs' });
    stores.set(name, store);
    const carts = store.aggregate<{ done: boolean }, { order: string }>({
      category: 'cart',
      initialState: { done: false },
      evolve: (s, e) => (e.type === 'CheckedOut' ? { done: true } : s),
      decide: (c, s) => {
        if (s.done) throw new Error('Cart already checked out');
        return [{ type: 'CheckedOut', data: c }];
      },
    });
    const mailbox = store.aggregate<null, { order: string }>({
      category: 'mailbox',
      initialState: null,
      evolve: (s) => s,
      decide: async (c) => {
        if (localStorage.getItem('pm-hang') === '1') {
          localStorage.setItem('pm-hung', '1');
          await new Promise(() => {});
        }
        return [{ type: 'Notified', data: c }];
      },
    });
    store.processManager({
      name: 'checkout',
      filter: { types: ['OrderPlaced'] },
      react: (e) => {
        const { cartId } = e.data as { cartId: string };
        return [carts.command(cartId, { order: e.stream }), mailbox.command(cartId, { order: e.stream })];
      },
    });
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
installLiveTabs();
document.title = 'ready';
