/**
 * The origin's storage, as the page sees it: asking the browser to keep the data
 * (`navigator.storage.persist()`) and how much is used. The browser decides per origin, so
 * these run in the page (or the worker that opened the store), never in the store's worker:
 * `persist()` exists only in windows.
 *
 * `persist()` may never settle: headless Firefox waits for a permission prompt no one
 * answers (FINDINGS), and a real one waits for the user. It is raced against a timeout, so
 * the answer is always a boolean, and false means "not granted yet".
 */

/** How long `persist()` waits for the browser's answer, in ms. */
export const PERSIST_TIMEOUT = 1500;

/** How much the origin uses and may use, and whether its data is kept under storage pressure. */
export interface StorageEstimate {
  /** Bytes the origin uses (all its storage, not only this store), or null where the runtime cannot tell. */
  usage: number | null;
  /** Bytes the origin may use, or null where the runtime cannot tell. */
  quota: number | null;
  /** True once the browser agreed to keep the origin's data (`persist()`). */
  persisted: boolean;
}

/** Asks the browser to keep the origin's data; resolves to whether it is (or already was) granted, within `timeoutMs`. */
export async function requestPersistence(timeoutMs = PERSIST_TIMEOUT): Promise<boolean> {
  const storage = storageManager();
  if (storage === undefined) return false;
  const deadline = Date.now() + timeoutMs;
  if (await within(storage.persisted?.(), timeoutMs)) return true;
  if (typeof storage.persist !== 'function') return false;
  return within(storage.persist(), Math.max(0, deadline - Date.now()));
}

/** The origin's usage and quota as the browser reports them, and whether its data is persisted. */
export async function estimateStorage(): Promise<StorageEstimate> {
  const storage = storageManager();
  if (storage === undefined || typeof storage.estimate !== 'function') return { usage: null, quota: null, persisted: false };
  const [estimate, persisted] = await Promise.all([storage.estimate(), within(storage.persisted?.(), PERSIST_TIMEOUT)]);
  return { usage: estimate.usage ?? null, quota: estimate.quota ?? null, persisted };
}

function storageManager(): Partial<StorageManager> | undefined {
  return typeof navigator === 'object' && navigator !== null ? (navigator as { storage?: Partial<StorageManager> }).storage : undefined;
}

/** `promise`'s answer as a boolean, or false if it has none within `ms` (or fails). */
function within(promise: Promise<boolean> | undefined, ms: number): Promise<boolean> {
  if (promise === undefined) return Promise.resolve(false);
  return new Promise<boolean>((resolve) => {
    const timer = setTimeout(() => resolve(false), ms);
    promise.then(
      (granted) => {
        clearTimeout(timer);
        resolve(granted === true);
      },
      () => {
        clearTimeout(timer);
        resolve(false);
      },
    );
  });
}
