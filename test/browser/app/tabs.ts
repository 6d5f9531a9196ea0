/**
 * What the many-tabs tests (and the tabs bench) drive in each page, on `window.cairnTabs`:
 * stores kept by name, role-change records, append loops that record every answer, and a
 * raw hold on a store's lock to play a holder that never serves.
 */
import * as cairn from '../../../src/client/index.ts';
import type { ProjectionSetName } from '../../contract/test-projections.ts';

/** An acknowledged append of one event. */
export interface Ack {
  id: string;
  stream: string;
  version: number;
  position: number;
  seq: number;
}

/** What an append loop saw. */
export interface LoopReport {
  acked: Ack[];
  /** Appends rejected with VERSION_CONFLICT (they state a version that may be stale on purpose). */
  conflicts: number;
  /** Every other rejection (each ends its lane). */
  errors: { code: string; message: string }[];
  /** Calls made after the store was closed, rejected with STORE_CLOSED as they must be. */
  closedAfter: number;
}

/** An event of the log, with the data the loops wrote. */
export interface LoggedEvent {
  id: string;
  stream: string;
  version: number;
  position: number;
  tag: string;
  seq: number;
}

/** A push message as the page received it from its worker. */
export interface SeenPush {
  push: string;
  data: unknown;
}

const stores = new Map<string, cairn.Store>();
const pushes = new Map<string, SeenPush[]>();
const roleChanges = new Map<string, cairn.Role[]>();
const heldLocks = new Map<string, () => void>();
let loop: { stopped: boolean; report: LoopReport; lanes: Promise<void>[] } | undefined;

/** The store `name` opened in this tab with `open`. */
export function storeOf(name: string): cairn.Store {
  const store = stores.get(name);
  if (store === undefined) throw new Error(`No store "${name}" open in this tab`);
  return store;
}

function errorOf(e: unknown): { code: string; message: string } {
  const err = e as { code?: unknown; message?: unknown };
  return { code: typeof err.code === 'string' ? err.code : 'NONE', message: String(err.message ?? e) };
}

const tabs = {
  /**
   * Opens a store in this tab and records its role changes and every push its worker sends.
   * `projectionSet` serves it from a worker with that set of test projections.
   */
  async open(name: string, options: Partial<cairn.OpenStoreOptions> & { projectionSet?: ProjectionSetName } = {}) {
    const { projectionSet, ...rest } = options;
    const store = await cairn.openStore({ name, worker: () => recordingWorker(name, projectionSet), ...rest });
    stores.set(name, store);
    const changes: cairn.Role[] = [];
    roleChanges.set(name, changes);
    store.onRoleChange((role) => changes.push(role));
    return { role: store.role, storage: store.storage };
  },
  /** Opens a store and reports how it failed, or null. */
  async openFailure(name: string, options: Partial<cairn.OpenStoreOptions> = {}) {
    try {
      await tabs.open(name, options);
      return null;
    } catch (e) {
      return { ...errorOf(e), isNoLeader: cairn.isNoLeader(e), isOwnClass: e instanceof cairn.NoLeaderError };
    }
  },
  role: (name: string) => storeOf(name).role,
  /** The pushes this tab's worker has sent its page so far. */
  pushes: (name: string) => pushes.get(name) ?? [],
  roleChanges: (name: string) => roleChanges.get(name) ?? [],
  close: (name: string) => storeOf(name).close(),

  /**
   * Starts `lanes` loops, each awaiting one single-event append after another on `streams`,
   * tagged `tag`. Every fifth append states the version this lane last saw, which another
   * tab has often moved past: those may fail with VERSION_CONFLICT, and only those may fail.
   */
  startLoop(name: string, tag: string, streams: string[], lanes: number) {
    const store = storeOf(name);
    const report: LoopReport = { acked: [], conflicts: 0, errors: [], closedAfter: 0 };
    const state = { stopped: false, report, lanes: [] as Promise<void>[] };
    let seq = 0;
    for (let lane = 0; lane < lanes; lane++) {
      state.lanes.push(
        (async () => {
          const seen = new Map<string, number>();
          for (let i = 0; !state.stopped; i++) {
            const stream = streams[(lane + i) % streams.length]!;
            const mine = seq++;
            const expectedVersion = i % 5 === 4 ? (seen.get(stream) ?? 0) : 'any';
            try {
              const r = await store.append(stream, [{ type: 'Tick', data: { tag, seq: mine } }], { expectedVersion });
              seen.set(stream, r.version);
              report.acked.push({ id: r.ids[0]!, stream, version: r.version, position: r.position, seq: mine });
            } catch (e) {
              if (cairn.isVersionConflict(e)) {
                report.conflicts++;
                seen.set(stream, e.actual);
              } else if (cairn.isStoreClosed(e)) {
                report.closedAfter++;
                return;
              } else {
                // Recorded, and the lane ends: a dead store must not spin the loop.
                report.errors.push(errorOf(e));
                return;
              }
            }
          }
        })(),
      );
    }
    loop = state;
  },
  /** How many calls have failed so far (other than by version conflicts). */
  errorsSoFar: () => loop?.report.errors.length ?? 0,
  /** The acknowledgements so far, without stopping. */
  ackedSoFar: () => loop?.report.acked.slice() ?? [],
  /** Stops the loops and reports once every call has settled. */
  async stopLoop(): Promise<LoopReport> {
    if (loop === undefined) throw new Error('No loop is running');
    loop.stopped = true;
    await Promise.all(loop.lanes);
    return loop.report;
  },
  /** Closes the store while the loop runs; the loop ends at its first STORE_CLOSED. */
  async closeDuringLoop(name: string): Promise<LoopReport> {
    await storeOf(name).close();
    return tabs.stopLoop();
  },

  /** Fires `count` appends at once over `streams`, tagged `tag`; reports every answer. */
  async burst(name: string, tag: string, streams: string[], count: number): Promise<LoopReport> {
    const store = storeOf(name);
    const report: LoopReport = { acked: [], conflicts: 0, errors: [], closedAfter: 0 };
    await Promise.all(
      Array.from({ length: count }, async (_, seq) => {
        const stream = streams[seq % streams.length]!;
        try {
          const r = await store.append(stream, [{ type: 'Tick', data: { tag, seq } }]);
          report.acked.push({ id: r.ids[0]!, stream, version: r.version, position: r.position, seq });
        } catch (e) {
          report.errors.push(errorOf(e));
        }
      }),
    );
    return report;
  },

  /** Appends `total` events in appends of `perAppend` each. */
  async fill(name: string, total: number, perAppend: number) {
    const store = storeOf(name);
    for (let done = 0; done < total; done += perAppend) {
      const n = Math.min(perAppend, total - done);
      const events = Array.from({ length: n }, (_, i) => ({ type: 'Filled', data: { tag: 'fill', seq: done + i } }));
      await store.append(`fill-${Math.floor(done / 1000)}`, events);
    }
    return store.head();
  },

  /** Reads the whole log in global order. */
  async readAll(name: string): Promise<LoggedEvent[]> {
    const out: LoggedEvent[] = [];
    for await (const e of storeOf(name).events({}, { batchSize: 2000 })) {
      const data = e.data as { tag?: string; seq?: number } | null;
      out.push({ id: e.id, stream: e.stream, version: e.version, position: e.position, tag: data?.tag ?? '', seq: data?.seq ?? -1 });
    }
    return out;
  },

  /**
   * Issues `count` reads at once, each of a stream that only this tab writes, and reports
   * every answer that holds any other stream's events (a reply meant for another tab).
   */
  async crossCheck(name: string, streams: string[], count: number) {
    const store = storeOf(name);
    const wrong: string[] = [];
    await Promise.all(
      Array.from({ length: count }, async (_, i) => {
        const stream = streams[i % streams.length]!;
        const events = await store.readStream(stream);
        if (events.length === 0) wrong.push(`${stream}: empty`);
        for (const e of events) if (e.stream !== stream) wrong.push(`${stream}: got ${e.stream}`);
      }),
    );
    return wrong;
  },

  /** Times `count` sequential calls of `op`; returns each duration in ms. */
  async time(name: string, op: 'append' | 'head', count: number): Promise<number[]> {
    const store = storeOf(name);
    const out: number[] = [];
    for (let i = 0; i < count; i++) {
      const t = performance.now();
      if (op === 'append') await store.append('timed-1', [{ type: 'Timed', data: { i } }]);
      else await store.head();
      out.push(performance.now() - t);
    }
    return out;
  },
  /** Issues `count` single appends at once over 100 streams; resolves with the ms until all were acknowledged. */
  async timeBurst(name: string, count: number): Promise<number> {
    const store = storeOf(name);
    const t = performance.now();
    await Promise.all(Array.from({ length: count }, (_, i) => store.append(`burst-${i % 100}`, [{ type: 'Burst', data: { i } }])));
    return performance.now() - t;
  },
  /** One append; resolves with the wall-clock time it was acknowledged. */
  async appendAt(name: string): Promise<number> {
    await storeOf(name).append('timed-1', [{ type: 'Timed' }]);
    return Date.now();
  },

  /**
   * Takes (or queues for) the store's own Web Lock from the page and keeps it: a holder
   * that never serves. Returns once the request is queued (see `lockState`).
   */
  holdLock(name: string): void {
    const held = new Promise<void>((release) => heldLocks.set(name, release));
    void navigator.locks.request(`cairn:${name}`, () => held);
  },
  async lockState(name: string) {
    const snapshot = await navigator.locks.query();
    return {
      held: (snapshot.held ?? []).filter((l) => l.name === `cairn:${name}`).length,
      pending: (snapshot.pending ?? []).filter((l) => l.name === `cairn:${name}`).length,
    };
  },
  releaseLock(name: string) {
    heldLocks.get(name)?.();
    heldLocks.delete(name);
  },
};

/** The default worker (or one with a set of test projections), with every push it sends to the page recorded. */
function recordingWorker(name: string, projectionSet?: ProjectionSetName): Worker {
  // Spelled out each time: Vite finds workers by these exact expressions.
  const worker =
    projectionSet === 'shop-v1'
      ? new Worker(new URL('./shop-v1.worker.ts', import.meta.url), { type: 'module' })
      : projectionSet === 'shop-v2'
        ? new Worker(new URL('./shop-v2.worker.ts', import.meta.url), { type: 'module' })
        : new Worker(new URL('../../../worker/default.ts', import.meta.url), { type: 'module' });
  const seen: SeenPush[] = [];
  pushes.set(name, seen);
  worker.addEventListener('message', (event: MessageEvent) => {
    const m = event.data as Partial<SeenPush> | null;
    if (typeof m === 'object' && m !== null && typeof m.push === 'string') seen.push({ push: m.push, data: m.data });
  });
  return worker;
}

declare global {
  interface Window {
    cairnTabs: typeof tabs;
  }
}

/** Puts the helpers on `window.cairnTabs` (called, not a side effect: the package is `sideEffects: false`). */
export function installTabs(): void {
  window.cairnTabs = tabs;
}
