/**
 * Live wake-ups: `GET /v1/live` streams Server-Sent Events to each connected device, and
 * pokes it whenever a pull may return something new for its tenant.
 *
 * Responsibilities and the interleavings they cover:
 * - One LISTEN connection per instance. Every committed push sends one NOTIFY (payload: the
 *   tenant), so a push on any instance behind a load balancer wakes the devices connected to
 *   every other one.
 * - Notifications are debounced for a few milliseconds per tenant, so a burst of pushes
 *   costs one poke, not one per push.
 * - A long transaction anywhere in the cluster holds the readers' horizon back: a device
 *   poked for a push that committed behind it pulls nothing, and no further NOTIFY comes
 *   when the long transaction ends. So each notified tenant is checked at once for events
 *   above the horizon (cheap: an index probe), and while devices are connected a slow timer
 *   checks all their tenants. A tenant found above the horizon is "stalled": poked on every
 *   tick, and once more when it is no longer. Checking at notification time matters: a stall
 *   shorter than the timer's period would otherwise slip between two ticks unseen, and its
 *   devices would wait for the next push. Nothing waits for ever.
 * - When the LISTEN connection drops and comes back, notifications may have been lost:
 *   every device is poked once.
 * - A comment heartbeat keeps idle connections (and the proxies on their way) open; a device
 *   that does not read its stream (its buffer grows past a limit) is disconnected.
 */
import type { IncomingMessage, ServerResponse } from 'node:http';
import { StoreClosedError } from '../src/core/errors.ts';
import { LIVE_HEARTBEAT_MS, LiveEvent } from '../src/sync/protocol.ts';
import type { SyncServerLog } from './log.ts';
import { EVENTS_CHANNEL } from './store/append.ts';
import { tenantsAboveHorizon } from './store/read.ts';
import type { Storage } from './store/storage.ts';

/** Timings of the live stream. */
export interface LiveOptions {
  /** How long notifications for one tenant are gathered into one poke (default 5 ms). */
  debounceMs?: number;
  /** How often the horizon is checked while devices are connected (default 1,000 ms). */
  stallCheckMs?: number;
  /** How often a heartbeat comment is sent (default 15 s). */
  heartbeatMs?: number;
}

/** A device whose unread output passes this is too slow to keep. */
const MAX_BUFFERED = 64 * 1024;

const READY = `event: ${LiveEvent.Ready}\ndata: {}\n\n`;
const POKE = `event: ${LiveEvent.Poke}\ndata: {}\n\n`;
const HEARTBEAT = ': heartbeat\n\n';

/** The live side of one server instance. */
export class LiveHub {
  readonly #storage: Storage;
  readonly #log: SyncServerLog;
  readonly #debounceMs: number;
  readonly #stallCheckMs: number;
  readonly #heartbeatMs: number;
  readonly #clients = new Map<string, Set<ServerResponse>>();
  readonly #pending = new Set<string>();
  #debounce: ReturnType<typeof setTimeout> | undefined;
  #timers: ReturnType<typeof setInterval>[] = [];
  readonly #stalled = new Set<string>();
  #checking = false;
  #unlisten: (() => Promise<void>) | undefined;
  #closed = false;

  constructor(storage: Storage, log: SyncServerLog, options: LiveOptions = {}) {
    this.#storage = storage;
    this.#log = log;
    this.#debounceMs = options.debounceMs ?? 5;
    this.#stallCheckMs = options.stallCheckMs ?? 1_000;
    this.#heartbeatMs = options.heartbeatMs ?? LIVE_HEARTBEAT_MS;
  }

  /** Starts listening for commits. */
  async start(): Promise<void> {
    this.#unlisten = await this.#storage.listen(
      EVENTS_CHANNEL,
      (tenant) => this.#notified(tenant),
      () => {
        for (const tenant of this.#clients.keys()) {
          this.#poke(tenant);
          this.#stalled.add(tenant); // what was missed may also be above the horizon
        }
      },
    );
  }

  /** Turns a request into a live stream for `tenant`, until either side closes it. */
  attach(tenant: string, req: IncomingMessage, res: ServerResponse, headers: Record<string, string>): void {
    if (this.#closed) throw new StoreClosedError('The sync server is shutting down');
    res.writeHead(200, {
      ...headers,
      'content-type': 'text/event-stream; charset=utf-8',
      'cache-control': 'no-cache, no-transform',
      connection: 'keep-alive',
      'x-accel-buffering': 'no', // nginx: do not buffer the stream
    });
    req.socket.setNoDelay(true);
    req.socket.setKeepAlive(true);
    req.socket.setTimeout(0);
    res.write(READY);
    let set = this.#clients.get(tenant);
    if (set === undefined) this.#clients.set(tenant, (set = new Set()));
    set.add(res);
    if (this.#timers.length === 0) this.#startTimers();
    const detach = (): void => {
      const current = this.#clients.get(tenant);
      if (current?.delete(res) === true && current.size === 0) this.#clients.delete(tenant);
      if (this.#clients.size === 0) this.#stopTimers();
    };
    res.once('close', detach);
    res.on('error', detach);
  }

  /** Ends every stream and stops listening. */
  async close(): Promise<void> {
    if (this.#closed) return;
    this.#closed = true;
    if (this.#debounce !== undefined) clearTimeout(this.#debounce);
    this.#stopTimers();
    for (const set of this.#clients.values()) for (const res of set) res.end();
    this.#clients.clear();
    await this.#unlisten?.();
  }

  #notified(tenant: string): void {
    if (!this.#clients.has(tenant)) return;
    this.#pending.add(tenant);
    this.#debounce ??= setTimeout(() => {
      this.#debounce = undefined;
      const tenants = [...this.#pending];
      this.#pending.clear();
      for (const t of tenants) this.#poke(t);
      void this.#checkNotified(tenants);
    }, this.#debounceMs);
  }

  /** Marks the tenants whose new events a pull cannot return yet, for the timer to follow up. */
  async #checkNotified(tenants: string[]): Promise<void> {
    try {
      for (const tenant of await tenantsAboveHorizon(this.#storage, tenants)) this.#stalled.add(tenant);
    } catch (e) {
      for (const tenant of tenants) this.#stalled.add(tenant); // cannot tell: follow up anyway
      if (!this.#closed) this.#log.warn(`the live horizon check failed: ${(e as Error).message}`);
    }
  }

  #poke(tenant: string): void {
    for (const res of this.#clients.get(tenant) ?? []) this.#write(res, POKE);
  }

  #write(res: ServerResponse, text: string): void {
    if (res.writableEnded || res.destroyed) return;
    if (res.writableLength > MAX_BUFFERED) {
      res.destroy(); // it does not read what it is sent
      return;
    }
    res.write(text);
  }

  #startTimers(): void {
    this.#timers = [
      setInterval(() => {
        for (const set of this.#clients.values()) for (const res of set) this.#write(res, HEARTBEAT);
      }, this.#heartbeatMs),
      setInterval(() => void this.#checkHorizon(), this.#stallCheckMs),
    ];
    for (const t of this.#timers) t.unref();
  }

  #stopTimers(): void {
    for (const t of this.#timers) clearInterval(t);
    this.#timers = [];
    this.#stalled.clear();
  }

  async #checkHorizon(): Promise<void> {
    if (this.#checking || this.#clients.size === 0) return;
    this.#checking = true;
    // Tenants marked stalled while this check runs are left for the next one.
    const before = [...this.#stalled];
    try {
      const above = new Set(await tenantsAboveHorizon(this.#storage, [...this.#clients.keys()]));
      if (this.#closed) return;
      for (const tenant of above) {
        this.#stalled.add(tenant);
        this.#poke(tenant);
      }
      for (const tenant of before) {
        if (above.has(tenant)) continue;
        this.#stalled.delete(tenant);
        this.#poke(tenant); // the horizon has passed its events: one last wake
      }
    } catch (e) {
      if (!this.#closed) this.#log.warn(`the live horizon check failed: ${(e as Error).message}`);
    } finally {
      this.#checking = false;
    }
  }
}
