/**
 * Type tests, checked by `tsc` in `npm test`: a wrong type fails the type-check step. The
 * functions are never run; the packed package's own type-check (`test/package`) checks the
 * same generics against the published declarations.
 */
import { expectTypeOf } from 'vitest';
import { openStore, type AppendResult, type Page, type RecordedEvent, type Store } from '../../src/client/index.ts';

type Shop = { ItemAdded: { sku: string; qty: number }; CheckedOut: null };

export async function narrowsByEventMap(): Promise<void> {
  {
    const store = await openStore<Shop>({ name: 'types' });
    expectTypeOf(store).toEqualTypeOf<Store<Shop>>();
    const r = await store.append('cart-1', [
      { type: 'ItemAdded', data: { sku: 'A1', qty: 2 } },
      { type: 'CheckedOut', data: null },
    ]);
    expectTypeOf(r).toEqualTypeOf<AppendResult>();
    // @ts-expect-error: ItemAdded's data needs qty.
    await store.append('cart-1', [{ type: 'ItemAdded', data: { sku: 'A1' } }]).catch(() => {});
    // @ts-expect-error: an event type the map does not have.
    await store.append('cart-1', [{ type: 'Unknown', data: 1 }]).catch(() => {});

    const [event] = await store.readStream('cart-1');
    if (event?.type === 'ItemAdded') expectTypeOf(event.data).toEqualTypeOf<{ sku: string; qty: number }>();
    if (event?.type === 'CheckedOut') expectTypeOf(event.data).toEqualTypeOf<null>();
    expectTypeOf(await store.read({ category: 'cart' })).toMatchTypeOf<Page<RecordedEvent>>();
    await store.close();
  }
}

export async function looseWithoutMap(): Promise<void> {
  {
    const store = await openStore({ name: 'loose' });
    await store.append('any-1', [{ type: 'Whatever', data: { any: ['thing'] } }]);
    const [event] = await store.readStream('any-1');
    expectTypeOf(event!.type).toEqualTypeOf<string>();
    expectTypeOf(event!.data).toEqualTypeOf<unknown>();
    await store.close();
  }
}

export async function typesAggregates(): Promise<void> {
  {
    const store = await openStore<Shop>({ name: 'agg-types' });
    const carts = store.aggregate({
      category: 'cart',
      initialState: { count: 0 },
      evolve: (s, e) => (e.type === 'ItemAdded' ? { count: s.count + e.data.qty } : s),
      decide: (c: { add: number }) => [{ type: 'ItemAdded' as const, data: { sku: 'x', qty: c.add } }],
    });
    const result = await carts.handle('1', { add: 2 });
    expectTypeOf(result.state).toEqualTypeOf<{ count: number }>();
    // @ts-expect-error: the command's shape is checked.
    await carts.handle('1', { remove: 1 }).catch(() => {});
    await store.close();
  }
}
