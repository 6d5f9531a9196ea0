/**
 * The page side of the live workloads, on Cairn on OPFS:
 * - W7: an append in one tab to the handler of a subscription in another tab (or the same
 *   one). Handlers report each event on a BroadcastChannel with the time they ran; the two
 *   tabs' clocks (`performance.timeOrigin + performance.now()`) are compared first with a
 *   ping-pong on another channel (NTP-style, the sample with the shortest round trip), and
 *   each handler time is corrected by that offset.
 * - W8: W2's appends with many subscriptions and watches open in the appending tab.
 * - W9: a large store opened and read, then left open, the events read held by the page, while
 *   the runner reads the heaps.
 */
import { openStore, type Store } from '../../src/client/index.ts';
import type { LiveJobMap } from '../jobs.ts';
import { eventData, eventType } from './events.ts';

type LiveJobs = { [K in keyof LiveJobMap]: (args: LiveJobMap[K]['args']) => Promise<LiveJobMap[K]['result']> };

const stores = new Map<string, Promise<Store>>();
/** W9: the events read, held by the page (as an app showing them would) until the store is closed. */
let held: unknown[] = [];
const closers = new Map<string, (() => void)[]>();

function store(name: string): Promise<Store> {
  let s = stores.get(name);
  if (s === undefined) {
    s = openStore({ name, storage: 'opfs' });
    stores.set(name, s);
  }
  return s;
}

const now = (): number => performance.timeOrigin + performance.now();

/** The live jobs of this tab. */
export const liveJobs: LiveJobs = {
  async liveSubscribe({ store: name, stream }) {
    const s = await store(name);
    const clock = new BroadcastChannel(`w7-clock-${name}-${stream}`);
    clock.onmessage = (m: MessageEvent<{ k: number }>) => {
      const t1 = now();
      clock.postMessage({ k: m.data.k, t1, t2: now() });
    };
    const acks = new BroadcastChannel(`w7-acks-${name}-${stream}`);
    const sub = s.subscribe({ stream }, (e) => acks.postMessage({ i: (e.data as { seq: number }).seq, t: now() }), { from: 'end' });
    // The subscription is live once its catch-up (of nothing) is done; a first ping proves the channel.
    addCloser(name, () => {
      sub.close();
      clock.close();
      acks.close();
    });
    return { role: s.role };
  },

  async liveLatency({ store: name, stream, count, warmup }) {
    const s = await store(name);
    const clock = new BroadcastChannel(`w7-clock-${name}-${stream}`);
    const acks = new BroadcastChannel(`w7-acks-${name}-${stream}`);
    let next: (data: { i: number; t: number; t1: number; t2: number }) => void = () => {};
    clock.onmessage = acks.onmessage = (m: MessageEvent) => next(m.data);
    const reply = (): Promise<{ i: number; t: number; t1: number; t2: number }> => new Promise((resolve) => (next = resolve));
    try {
      // The subscriber's clock minus this tab's, from the ping with the shortest round trip.
      let best = { rtt: Infinity, offset: 0 };
      for (let k = 0; k < 100; k++) {
        const t0 = now();
        const got = reply();
        clock.postMessage({ k });
        const { t1, t2 } = await got;
        const t3 = now();
        const rtt = t3 - t0 - (t2 - t1);
        if (rtt < best.rtt) best = { rtt, offset: (t1 - t0 + (t2 - t3)) / 2 };
      }
      const latenciesMs: number[] = [];
      const appendMs: number[] = [];
      for (let i = 0; i < warmup + count; i++) {
        const got = reply();
        const t0 = now();
        await s.append(stream, [{ type: eventType(i), data: { ...eventData(i), seq: i } }]);
        const t1 = now();
        const ack = await got;
        if (ack.i !== i) throw new Error(`W7: expected event ${i}, the handler got ${ack.i}`);
        // The first ones warm up the statement caches and the JIT.
        if (i >= warmup) {
          appendMs.push(t1 - t0);
          latenciesMs.push(ack.t - best.offset - t0);
        }
      }
      return { role: s.role, latenciesMs, appendMs, clockOffsetMs: best.offset };
    } finally {
      clock.close();
      acks.close();
    }
  },

  async loadedAppends({ store: name, streamPrefix, streams, count, subscriptions, watches }) {
    const s = await store(name);
    const issued = new Float64Array(count);
    const deliveryMs: number[] = [];
    let delivered = 0;
    let watchCalls = 0;
    const subs = [];
    // Subscriptions spread over W2's streams (one stream each, round robin), live from the end.
    for (let k = 0; k < subscriptions; k++) {
      subs.push(
        s.subscribe({ stream: `${streamPrefix}-${k % streams}` }, (e) => {
          delivered++;
          deliveryMs.push(performance.now() - issued[(e.data as { seq: number }).seq]!);
        }, { from: 'end' }),
      );
    }
    const ws = [];
    for (let k = 0; k < watches; k++) {
      ws.push(s.watch('SELECT count(*) AS n FROM events WHERE stream = ?', [`${streamPrefix}-${k % streams}`], () => void watchCalls++));
    }
    // Let every subscription finish its (empty) catch-up and every watch its first run.
    await s.head();
    await new Promise((resolve) => setTimeout(resolve, 200));
    const start = performance.now();
    const pending = new Array<Promise<unknown>>(count);
    for (let i = 0; i < count; i++) {
      issued[i] = performance.now();
      pending[i] = s.append(`${streamPrefix}-${i % streams}`, [{ type: eventType(i), data: { ...eventData(i), seq: i } }]);
    }
    await Promise.all(pending);
    const totalMs = performance.now() - start;
    // Wait for the deliveries still on their way (each subscription gets its stream's events).
    const expected = subscriptions === 0 ? 0 : Array.from({ length: subscriptions }, (_, k) => Math.floor((count - 1 - (k % streams)) / streams) + 1).reduce((a, b) => a + b, 0);
    const deadline = performance.now() + 60_000;
    while (delivered < expected && performance.now() < deadline) await new Promise((resolve) => setTimeout(resolve, 10));
    for (const sub of subs) sub.close();
    for (const w of ws) w.close();
    if (delivered < expected) throw new Error(`W8: ${delivered} of ${expected} deliveries arrived`);
    return { totalMs, deliveryMs, delivered, watchCalls };
  },

  async openAndRead({ store: name, count, pageSize }) {
    const s = await store(name);
    let read = 0;
    let after: string | null = null;
    held = [];
    while (read < count) {
      const first = Math.min(pageSize, count - read);
      const page = await s.read({}, after === null ? { first } : { first, after });
      for (const edge of page.edges) held.push(edge.node);
      read += page.edges.length;
      after = page.pageInfo.endCursor;
      if (!page.pageInfo.hasNextPage) break;
    }
    return { read };
  },

  async liveClose({ store: name }) {
    held = [];
    for (const close of closers.get(name) ?? []) close();
    closers.delete(name);
    const s = stores.get(name);
    stores.delete(name);
    if (s !== undefined) await (await s).close();
    return null;
  },
};

function addCloser(name: string, close: () => void): void {
  const list = closers.get(name) ?? [];
  list.push(close);
  closers.set(name, list);
}

