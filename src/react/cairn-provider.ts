/**
 * `CairnProvider` and `useStore`: the store a React tree works on, handed down by context.
 * The provider neither opens nor closes the store; the app owns its lifetime.
 */
import { createContext, createElement, useContext, type ReactNode } from 'react';
import type { Store } from '../client/store.ts';
import { InvalidArgumentError } from '../core/errors.ts';
import type { DefaultEventMap, EventMap } from '../core/types.ts';

// The store of any event map; `useStore<E>()` says which.
const StoreContext = createContext<object | undefined>(undefined);

/** Props of `CairnProvider`. */
export interface CairnProviderProps<E extends EventMap = DefaultEventMap> {
  store: Store<E>;
  children?: ReactNode;
}

/**
 * Makes `store` the store of the hooks below it.
 * @example
 * const store = await openStore({ name: 'shop' });
 * createRoot(el).render(<CairnProvider store={store}><App /></CairnProvider>);
 */
export function CairnProvider<E extends EventMap>({ store, children }: CairnProviderProps<E>): ReactNode {
  return createElement(StoreContext.Provider, { value: store }, children);
}

/**
 * The store of the nearest `CairnProvider`; `E` is its event map.
 * @example
 * const store = useStore<ShopEvents>();
 * await store.append('cart-1', [{ type: 'ItemAdded', data: { sku: 'A1', qty: 1 } }]);
 */
export function useStore<E extends EventMap = DefaultEventMap>(): Store<E> {
  const store = useContext(StoreContext);
  if (store === undefined) throw new InvalidArgumentError('useStore and the Cairn hooks need a <CairnProvider store={store}> above them');
  return store as Store<E>;
}

/** The store of the nearest provider, untyped: what the hooks work on. */
export function useAnyStore(): Store<EventMap> {
  return useStore<EventMap>();
}
