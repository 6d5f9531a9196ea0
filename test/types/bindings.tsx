/**
 * Type tests of the bindings, checked by `tsc` in `npm test` (never run): a provider takes a
 * store of any event map and JSX infers it; the hooks' results are typed by what they are
 * given; the inspector takes a store of any event map.
 */
import type { ReactNode } from 'react';
import { expectTypeOf } from 'vitest';
import type { AggregateDefinition, Store } from '../../src/client/index.ts';
import { defineInspectorElement, mountInspector, type CairnInspectorElement, type Inspector } from '../../src/devtools/index.ts';
import { CairnProvider, useAggregate, useQuery, useStore, useStream, useWatch, type AggregateState } from '../../src/react/index.ts';

type Shop = { ItemAdded: { sku: string; qty: number }; CheckedOut: null };
type Cart = { qty: number };
declare const store: Store<Shop>;
declare const cart: AggregateDefinition<Cart, { add: number }, Shop>;

export function providerInfersTheEventMap(): ReactNode {
  return (
    <CairnProvider store={store}>
      <p />
    </CairnProvider>
  );
}

export function hooksAreTyped(): void {
  expectTypeOf(useStore<Shop>()).toEqualTypeOf<Store<Shop>>();
  expectTypeOf(useQuery<{ n: number }>('SELECT 1 AS n')).toEqualTypeOf<{ n: number }[]>();
  expectTypeOf(useWatch<{ n: number }>('SELECT 1 AS n').rows).toEqualTypeOf<{ n: number }[] | undefined>();
  const [event] = useStream<Shop>({ types: ['ItemAdded'] });
  if (event?.type === 'ItemAdded') expectTypeOf(event.data).toEqualTypeOf<{ sku: string; qty: number }>();
  const agg = useAggregate(cart, '1');
  expectTypeOf(agg).toEqualTypeOf<AggregateState<Cart, { add: number }, Shop>>();
  // @ts-expect-error: a command the aggregate does not take.
  void agg.handle({ remove: 1 });
  // @ts-expect-error: params are SQL values.
  useQuery('SELECT ?', [{}]);
}

export function inspectorTakesAnyStore(el: HTMLElement): void {
  expectTypeOf(mountInspector(store, el)).toEqualTypeOf<Inspector>();
  mountInspector(store, el, { view: 'sql' });
  // @ts-expect-error: no such view.
  mountInspector(store, el, { view: 'nope' });
  defineInspectorElement();
  const element = document.createElement('cairn-inspector') as CairnInspectorElement;
  element.store = store;
}
