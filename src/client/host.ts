/**
 * Where `openStore` was called, and so where the store can run:
 * - a page, a dedicated worker, or a shared worker that can start workers: the store is
 *   served by a dedicated worker of its own (nested, in a worker), which can hold OPFS sync
 *   access handles and takes part in the election between tabs;
 * - a service worker, or a shared worker that cannot start workers: sync access handles
 *   exist only in dedicated workers and none can be started there, so the engine runs
 *   in-process, on IndexedDB (or memory);
 * - anything else (Node, Deno, Bun, edge runtimes): in-process, on memory or a driver.
 */

/** The kind of global scope `openStore` runs in. */
export type HostKind = 'page' | 'dedicated-worker' | 'shared-worker' | 'service-worker' | 'server';

/** Tells what kind of global scope this is. */
export function hostKind(): HostKind {
  const g = globalThis as Record<string, unknown>;
  // Only browsers have navigator.storage; Node, Deno, Bun and edge runtimes have a navigator without it.
  const browser = typeof navigator === 'object' && navigator !== null && 'storage' in navigator;
  if (!browser) return 'server';
  if (typeof g.document === 'object' && g.document !== null) return 'page';
  if (isScope(g, 'ServiceWorkerGlobalScope')) return 'service-worker';
  if (isScope(g, 'SharedWorkerGlobalScope')) return 'shared-worker';
  if (isScope(g, 'DedicatedWorkerGlobalScope')) return 'dedicated-worker';
  return 'server';
}

/** True where `openStore` starts a dedicated worker to serve the store. */
export function servesFromWorker(kind: HostKind): boolean {
  return kind !== 'server' && kind !== 'service-worker' && typeof Worker === 'function';
}

function isScope(g: Record<string, unknown>, name: string): boolean {
  const ctor = g[name];
  return typeof ctor === 'function' && globalThis instanceof (ctor as new () => unknown);
}
