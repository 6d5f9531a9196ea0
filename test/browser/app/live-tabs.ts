/**
 * What the cross-tab live tests drive in each page, on `window.cairnLive`: subscriptions,
 * durable consumers, watches and projection progress listeners on a store opened with
 * `window.cairnTabs.open`, each recording what it received in this page, for the test to
 * read back with `page.evaluate`.
 */
import type * as cairn from '../../../src/client/index.ts';
import { storeOf } from './tabs.ts';

/** What a recording subscription received. */
export interface SubscriptionRecord {
  positions: number[];
  ids: string[];
  /** The store's head as read from inside the handler of the event at `probeAt`. */
  headAtProbe: number | undefined;
  /** The handler's error or the subscription's failure, if it stopped on one. */
  error: string | undefined;
  closed: boolean;
}

/** What a recording consumer's handler saw. */
export interface ConsumerRecord {
  /** Positions whose handler call began, in order. */
  started: number[];
  /** Positions whose handler call finished, in order. */
  finished: number[];
  error: string | undefined;
}

const subscriptions = new Map<string, { sub: cairn.Subscription; record: SubscriptionRecord }>();
const consumers = new Map<string, { consumer: cairn.Consumer; record: ConsumerRecord; hangAt: number | undefined }>();
const watches = new Map<string, unknown[][]>();
const progress = new Map<string, cairn.ProjectionProgress[]>();

const live = {
  /**
   * Subscribes to `name` under `key` and records every event's position and id. When the
   * event at `probeAt` arrives, its handler reads the store's head before it returns, which
   * tells the test whether appends committed while the subscription was catching up.
   */
  subscribe(
    name: string,
    key: string,
    filter: cairn.EventFilter,
    options: { from?: cairn.FollowStart; batchSize?: number; probeAt?: number } = {},
  ): void {
    const store = storeOf(name);
    const record: SubscriptionRecord = { positions: [], ids: [], headAtProbe: undefined, error: undefined, closed: false };
    const { probeAt, ...subscribeOptions } = options;
    const sub = store.subscribe(
      filter,
      async (e) => {
        if (e.position === probeAt) record.headAtProbe = await store.head();
        record.positions.push(e.position);
        record.ids.push(e.id);
      },
      subscribeOptions,
    );
    sub.done.then(
      () => void (record.closed = true),
      (e: unknown) => {
        record.closed = true;
        record.error = String(e);
      },
    );
    subscriptions.set(key, { sub, record });
  },
  /** What the subscription `key` has received so far. */
  subscribed(key: string): SubscriptionRecord {
    const entry = subscriptions.get(key);
    if (entry === undefined) throw new Error(`No subscription "${key}" in this tab`);
    return entry.record;
  },

  /**
   * Starts this tab's instance of consumer `consumer`. Its handler records each position it
   * starts and finishes, and never finishes the event at `hangAt`.
   */
  startConsumer(name: string, consumer: string, hangAt?: number): void {
    const store = storeOf(name);
    const record: ConsumerRecord = { started: [], finished: [], error: undefined };
    const entry = { consumer: undefined as unknown as cairn.Consumer, record, hangAt };
    entry.consumer = store.consumer(consumer, {}, async (e) => {
      record.started.push(e.position);
      if (e.position === entry.hangAt) await new Promise(() => {});
      record.finished.push(e.position);
    });
    entry.consumer.done.catch((e: unknown) => void (record.error = String(e)));
    consumers.set(consumer, entry);
  },
  /** Changes the event this tab's instance of `consumer` will never finish (`undefined`: none). */
  hangConsumerAt(consumer: string, position: number | undefined): void {
    const entry = consumers.get(consumer);
    if (entry === undefined) throw new Error(`No consumer "${consumer}" in this tab`);
    entry.hangAt = position;
  },
  /** This tab's instance of `consumer`: its state and what its handler saw. */
  consumer(consumer: string): ConsumerRecord & { state: cairn.Consumer['state'] } {
    const entry = consumers.get(consumer);
    if (entry === undefined) throw new Error(`No consumer "${consumer}" in this tab`);
    return { ...entry.record, state: entry.consumer.state };
  },
  /** The store's consumers, as `store.consumers()` reports them. */
  consumers: (name: string) => storeOf(name).consumers(),

  /** Watches `sql` on `name` under `key`, recording the rows of every callback. */
  watch(name: string, key: string, sql: string, params: cairn.SqlValue[] = []): void {
    const calls: unknown[][] = [];
    watches.set(key, calls);
    storeOf(name).watch(sql, params, (rows) => void calls.push(rows));
  },
  /** The rows of each callback of watch `key` so far. */
  watched(key: string): unknown[][] {
    return watches.get(key) ?? [];
  },

  /** Records every projection progress report that reaches this tab's page. */
  recordProgress(name: string): void {
    const seen: cairn.ProjectionProgress[] = [];
    progress.set(name, seen);
    storeOf(name).onProjectionProgress((p) => void seen.push(p));
  },
  progress: (name: string) => progress.get(name) ?? [],
  projections: (name: string) => storeOf(name).projections(),
  query: (name: string, sql: string, params: cairn.SqlValue[] = []) => storeOf(name).query(sql, params),

  /** Appends one event; resolves with its position. */
  async append(name: string, stream: string, type: string, data: unknown = null): Promise<number> {
    return (await storeOf(name).append(stream, [{ type, data }])).position;
  },
  /** Appends `count` `ItemAdded` events (quantities 1 to 3) over five carts, `perAppend` at a time. */
  async addItems(name: string, count: number, perAppend: number): Promise<number> {
    const store = storeOf(name);
    for (let done = 0; done < count; done += perAppend) {
      const n = Math.min(perAppend, count - done);
      const events = Array.from({ length: n }, (_, i) => ({ type: 'ItemAdded', data: { qty: ((done + i) % 3) + 1 } }));
      await store.append(`cart-${(done / perAppend) % 5}`, events);
    }
    return store.head();
  },
};

declare global {
  interface Window {
    cairnLive: typeof live;
  }
}

/** Puts the helpers on `window.cairnLive`. */
export function installLiveTabs(): void {
  window.cairnLive = live;
}
