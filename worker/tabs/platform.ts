/**
 * The seam between the election and the browser: Web Locks, BroadcastChannels and worker
 * ids. Unit tests play an origin of their own through it (`test/unit/fake-tabs.ts`).
 */

/** The part of the Web Locks API the election uses. */
export interface TabLocks {
  request(name: string, options: LockOptions, callback: (lock: Lock | null) => unknown): Promise<unknown>;
}

/** The part of a BroadcastChannel the election uses. */
export interface TabChannel {
  postMessage(message: unknown): void;
  addEventListener(type: 'message', listener: (event: MessageEvent) => void): void;
  close(): void;
}

/** Where the election finds locks and channels: the browser's own unless a test plays them. */
export interface TabsPlatform {
  /** Undefined where there are no Web Locks: the worker then leads alone. */
  locks: TabLocks | undefined;
  /** Undefined where there is no BroadcastChannel: the worker then leads alone. */
  channel: ((name: string) => TabChannel) | undefined;
  /** A unique id for this worker. */
  newId(): string;
}

/** The browser's locks and channels, where it has them. */
export function browserPlatform(): TabsPlatform {
  return {
    locks: typeof navigator === 'undefined' ? undefined : navigator.locks,
    channel: typeof BroadcastChannel === 'function' ? (name) => new BroadcastChannel(name) : undefined,
    newId: () => crypto.randomUUID(),
  };
}
