/** Type tests, checked by `tsc` in `npm test`: live features narrow events by the event map. */
import { expectTypeOf } from 'vitest';
import type { ConsumerContext, RecordedEvent, Store, Subscription, Watch } from '../../src/client/index.ts';

type Shop = { ItemAdded: { sku: string; qty: number }; CheckedOut: null };

export function narrowsLiveEvents(store: Store<Shop>): void {
  {
    const sub = store.subscribe({}, (e) => {
      // The union of the map's recorded events, narrowed by `type`.
      expectTypeOf(e).toEqualTypeOf<RecordedEvent<'ItemAdded', { sku: string; qty: number }> | RecordedEvent<'CheckedOut', null>>();
      if (e.type === 'ItemAdded') expectTypeOf(e.data).toEqualTypeOf<{ sku: string; qty: number }>();
    });
    expectTypeOf(sub).toEqualTypeOf<Subscription>();
    const stream = store.stream({ types: ['CheckedOut'] });
    expectTypeOf(stream).toEqualTypeOf<AsyncGenerator<RecordedEvent<'ItemAdded', { sku: string; qty: number }> | RecordedEvent<'CheckedOut', null>, void>>();
    store.consumer('c', {}, (e, context) => {
      expectTypeOf(context).toEqualTypeOf<ConsumerContext>();
      if (e.type === 'CheckedOut') expectTypeOf(e.data).toBeNull();
    });
    const w = store.watch<{ n: number }>('SELECT 1 AS n', [], (rows) => expectTypeOf(rows).toEqualTypeOf<{ n: number }[]>());
    expectTypeOf(w).toEqualTypeOf<Watch>();
    expectTypeOf(store.query<{ id: string }>('SELECT id FROM t')).resolves.toEqualTypeOf<{ id: string }[]>();
  }
}
