/**
 * The page's link to the store's worker, kept alive through the worker's life and the
 * page's: one RPC client whose far end is whichever worker is current, and a new worker
 * started whenever the current one is gone.
 *
 * Responsibilities:
 * - Start a worker, hand it the open config (the handshake, on a client of its own, so that
 *   no call reaches a worker that is not open yet), then make it current and re-send every
 *   call not yet answered to it, in call order, as a handover between tabs does. Event ids
 *   are fixed in the page, so a re-sent append that had committed returns its first result.
 * - Notice a dead worker: an error event, or its lifetime lock granted to us (it died without
 *   a word: terminated, its process killed). A new one is started and rejoins the tabs, as
 *   leader or follower; calls made meanwhile wait for it (up to `leaderTimeout`).
 * - The page's lifecycle: on `pagehide` and `freeze` the worker is stopped at once, so its
 *   locks and OPFS handles go and another tab (or the reloaded page) can lead; a frozen page's
 *   dedicated worker is frozen with it, so a close it was asked for might never run. On
 *   `pageshow` from the back/forward cache and on `resume`, a new worker rejoins.
 * - After each rejoin, tell the page what it may have missed: a `leader` push (readers and
 *   watches catch up from the log) and a `role` push if the role changed.
 *
 * Interleavings handled:
 * - A death noticed for a worker that is no longer current (the lock of a worker we stopped
 *   ourselves) is ignored; so is the late handshake of a worker stopped while it opened.
 * - A worker that dies again and again is given up after `MAX_RESTARTS` tries in a row:
 *   every call then fails with STORAGE_UNAVAILABLE, as a tab whose storage is gone should.
 * - A restart never restores a backup again (`restore` is for the first open only).
 */
import { StorageUnavailableError, messageOf } from '../core/errors.ts';
import { backoff, sleep } from '../core/time.ts';
import type { OpenConfig, OpenInfo, Role, WorkerApi } from '../protocol/api.ts';
import { createRpcClient, type Endpoint, type RpcClient, type RpcPush } from '../protocol/rpc.ts';
import { workerLockName } from '../protocol/tabs.ts';

/** Restarts in a row that may fail before the session gives up. */
const MAX_RESTARTS = 5;

/** Options of a worker session. */
export interface WorkerSessionOptions {
  config: OpenConfig;
  /** Starts a worker: the built-in one or the app's own. */
  start: () => Worker;
  /** Every push from the current worker, and the ones the session makes after a rejoin. */
  onPush: (push: RpcPush) => void;
}

/** A store's worker, restarted as needed, behind one RPC client. */
export class WorkerSession {
  readonly rpc: RpcClient<WorkerApi>;
  readonly #options: WorkerSessionOptions;
  readonly #endpoint = new CurrentWorker();
  readonly #lifetime = new AbortController();
  #generation = 0;
  #current: { worker: Worker; id: string; role: Role; watch: AbortController } | undefined;
  /** The role of the last worker, kept across a stop: a rejoin tells the page if it changed. */
  #lastRole: Role = 'follower';
  #restarting: Promise<void> | undefined;
  #suspended = false;
  #failures = 0;
  #disposed = false;

  constructor(options: WorkerSessionOptions) {
    this.#options = options;
    this.rpc = createRpcClient<WorkerApi>(this.#endpoint, {
      onPush: (push) => {
        if (push.push === 'role' && this.#current !== undefined) this.#current.role = push.data as Role;
        options.onPush(push);
      },
      target: () => this.#current?.id,
      waitTimeout: options.config.leaderTimeout,
      waitError: () => new StorageUnavailableError(`This tab's Cairn worker did not come back within ${options.config.leaderTimeout} ms`),
      batch: true,
    });
    this.#watchPage();
  }

  /** Starts the first worker; rejects as the open does (a store that cannot be opened at all). */
  async open(): Promise<OpenInfo> {
    const info = await this.#connect(this.#options.config);
    if (info === undefined) throw new StorageUnavailableError('The store was closed while it opened');
    return info;
  }

  /** Stops the worker for good; pending and later calls fail with STORE_CLOSED. */
  dispose(): void {
    this.#disposed = true;
    this.#lifetime.abort();
    this.#stopCurrent();
    this.rpc.dispose();
  }

  /** Starts a worker and makes it current; undefined if the session moved on meanwhile. */
  async #connect(config: OpenConfig): Promise<OpenInfo | undefined> {
    const generation = ++this.#generation;
    const worker = this.#options.start();
    const handshake = createRpcClient<WorkerApi>(worker);
    const died = new Promise<never>((_, reject) => {
      worker.addEventListener('error', (event) => reject(new StorageUnavailableError(`The Cairn worker failed: ${event.message || 'it could not start'}`)));
    });
    let info: OpenInfo;
    try {
      info = await Promise.race([handshake.remote.open(config), died]);
    } catch (e) {
      worker.terminate();
      throw e;
    } finally {
      handshake.dispose();
    }
    if (generation !== this.#generation || this.#disposed) {
      worker.terminate();
      return undefined;
    }
    worker.addEventListener('error', () => this.#lost(generation));
    const watch = new AbortController();
    this.#watchLifetime(info.worker, generation, watch.signal);
    this.#current = { worker, id: info.worker, role: info.role, watch };
    this.#endpoint.use(worker);
    this.rpc.resend();
    return info;
  }

  /** The current worker is gone: start another, unless the page is hidden or frozen. */
  #lost(generation: number): void {
    if (generation !== this.#generation || this.#disposed) return;
    this.#stopCurrent();
    if (!this.#suspended) void this.#restart();
  }

  #restart(): Promise<void> {
    this.#restarting ??= this.#rejoin().finally(() => (this.#restarting = undefined));
    return this.#restarting;
  }

  async #rejoin(): Promise<void> {
    const { restore: _restore, overwrite: _overwrite, ...config } = this.#options.config;
    const roleBefore = this.#current?.role ?? this.#lastRole;
    for (;;) {
      if (this.#disposed || this.#suspended) return;
      try {
        const info = await this.#connect(config);
        if (info === undefined) return;
        this.#failures = 0;
        // Told before any answer of the new worker can arrive: a call that resolves after a rejoin sees the new role.
        if (info.role !== roleBefore) this.#options.onPush({ kind: 'push', push: 'role', data: info.role });
        const head = await this.rpc.remote.head().catch(() => 0);
        this.#options.onPush({ kind: 'push', push: 'leader', data: { head } });
        return;
      } catch (e) {
        if (++this.#failures >= MAX_RESTARTS) {
          this.rpc.fail(new StorageUnavailableError(`This tab's Cairn worker stopped and could not be started again: ${messageOf(e)}`));
          return;
        }
        await sleep(backoff(this.#failures, 100, 2000));
      }
    }
  }

  #stopCurrent(): void {
    const current = this.#current;
    if (current === undefined) return;
    this.#lastRole = current.role;
    this.#current = undefined;
    this.#generation++;
    this.#endpoint.use(undefined);
    // No lock request of ours stays pending: a page in the back/forward cache must hold none.
    current.watch.abort();
    current.worker.terminate();
  }

  /** A worker holds a lock for its whole life: being granted it means that worker is gone. */
  #watchLifetime(id: string, generation: number, signal: AbortSignal): void {
    if (typeof navigator === 'undefined' || navigator.locks === undefined) return;
    navigator.locks
      .request(workerLockName(id), { mode: 'shared', signal }, () => this.#lost(generation))
      .catch(() => {
        // Aborted by dispose.
      });
  }

  /** Stops the worker while the page is hidden or frozen, and brings one back when it returns. */
  #watchPage(): void {
    if (typeof addEventListener !== 'function') return;
    const signal = this.#lifetime.signal;
    const suspend = (): void => {
      this.#suspended = true;
      this.#stopCurrent();
    };
    const wake = (): void => {
      if (!this.#suspended) return;
      this.#suspended = false;
      void this.#restart();
    };
    addEventListener('pagehide', suspend, { signal });
    addEventListener('pageshow', (event) => (event as PageTransitionEvent).persisted && wake(), { signal });
    if (typeof document === 'object' && document !== null) {
      document.addEventListener('freeze', suspend, { signal });
      document.addEventListener('resume', wake, { signal });
    }
  }
}

/** An endpoint whose far end is the current worker (none between two workers). */
class CurrentWorker implements Endpoint {
  #worker: Worker | undefined;
  readonly #listeners = new Set<(event: MessageEvent) => void>();

  use(worker: Worker | undefined): void {
    for (const l of this.#listeners) this.#worker?.removeEventListener('message', l);
    this.#worker = worker;
    for (const l of this.#listeners) worker?.addEventListener('message', l);
  }

  postMessage(message: unknown): void {
    // The RPC client sends only while there is a target, which is this worker.
    this.#worker?.postMessage(message);
  }

  addEventListener(_type: 'message', listener: (event: MessageEvent) => void): void {
    this.#listeners.add(listener);
    this.#worker?.addEventListener('message', listener);
  }

  removeEventListener(_type: 'message', listener: (event: MessageEvent) => void): void {
    this.#listeners.delete(listener);
    this.#worker?.removeEventListener('message', listener);
  }
}
