/**
 * `useQuery` and `useWatch`: a read-only SQL query's rows, kept current by `store.watch`,
 * so a component re-renders only after a commit that wrote a table the query reads. One
 * watch serves every component showing the same query (same SQL, same parameters).
 *
 * `useQuery` is for Suspense: it suspends until the first rows and throws errors to the
 * nearest error boundary. `useWatch` never suspends nor throws: it returns the rows (or
 * undefined while loading) and the error.
 */
import { useSyncExternalStore } from 'react';
import type { Store } from '../client/store.ts';
import type { Row, SqlValue } from '../core/driver.ts';
import type { EventMap } from '../core/types.ts';
import { useAnyStore } from './cairn-provider.ts';
import { resourceOf, type LiveResource, type ResourceSnapshot } from './live-resource.ts';

/** What `useWatch` returns. */
export interface WatchState<T> {
  /** The rows, once the query has run. */
  rows: T[] | undefined;
  /** Why the query failed (a `CairnError` such as READ_ONLY_QUERY or INVALID_ARGUMENT), if it did. */
  error: unknown;
  loading: boolean;
}

/**
 * The rows of a read-only query, live; suspends until they arrive.
 * @example
 * function Carts() {
 *   const carts = useQuery<{ id: string; qty: number }>('SELECT id, qty FROM cart_totals ORDER BY id');
 *   return <ul>{carts.map((c) => <li key={c.id}>{c.id}: {c.qty}</li>)}</ul>;
 * }
 * // <Suspense fallback="Loading…"><Carts /></Suspense>
 */
export function useQuery<T = Row>(sql: string, params: readonly SqlValue[] = []): T[] {
  const resource = useLiveQuery<T>(useAnyStore(), sql, params);
  const snapshot = useSyncExternalStore(resource.subscribe, resource.snapshot, resource.snapshot);
  if (snapshot.status === 'failed') throw resource.takeError();
  if (snapshot.status === 'loading') throw resource.ready;
  return snapshot.value;
}

/**
 * The rows of a read-only query, live, without Suspense: `{ rows, error, loading }`.
 * @example
 * const { rows, error } = useWatch<{ n: number }>('SELECT count(*) AS n FROM events');
 */
export function useWatch<T = Row>(sql: string, params: readonly SqlValue[] = []): WatchState<T> {
  const resource = useLiveQuery<T>(useAnyStore(), sql, params);
  const snapshot: ResourceSnapshot<T[]> = useSyncExternalStore(resource.subscribe, resource.snapshot, resource.snapshot);
  return { rows: snapshot.value, error: snapshot.error, loading: snapshot.status === 'loading' };
}

function useLiveQuery<T>(store: Store<EventMap>, sql: string, params: readonly SqlValue[]): LiveResource<T[]> {
  // Keyed by content, so a parameter array made afresh on each render is the same query.
  const key = `query\u0000${sql}\u0000${JSON.stringify(params)}`;
  const bound = [...params];
  return resourceOf<T[]>(store, key, (emit, fail) => {
    const w = store.watch<T>(sql, bound, (rows) => emit(rows));
    w.done.catch(fail);
    return () => w.close();
  });
}
