// Type-checked against the installed package: the event-map generic narrows `data` by `type`.
import { openStore, isVersionConflict, type RecordedEventOf } from 'cairndb';
import { serve, type Projection } from 'cairndb/worker';
import { createEngine, type SqlDriver } from 'cairndb/core';

type ShopEvents = { ItemAdded: { sku: string; qty: number }; CheckedOut: null };

const shop = await openStore<ShopEvents>({ name: 'shop' });
await shop.append('cart-1', [{ type: 'ItemAdded', data: { sku: 'A1', qty: 1 } }], { expectedVersion: 'any' });
await shop.append('cart-1', [{ type: 'CheckedOut', data: null }]);

// @ts-expect-error: qty is a number for ItemAdded
await shop.append('cart-1', [{ type: 'ItemAdded', data: { sku: 'A1', qty: 'one' } }]);
// @ts-expect-error: ShopEvents has no ItemRemoved
await shop.append('cart-1', [{ type: 'ItemRemoved', data: { sku: 'A1' } }]);
// @ts-expect-error: expectedVersion is 'any', 'no_stream', 'stream_exists' or a number
await shop.append('cart-1', [{ type: 'CheckedOut', data: null }], { expectedVersion: 'latest' });

for (const event of await shop.readStream('cart-1')) {
  if (event.type === 'ItemAdded') {
    const qty: number = event.data.qty;
    // @ts-expect-error: an ItemAdded's data has no total
    void event.data.total;
    void qty;
  }
}

const last: RecordedEventOf<ShopEvents> | undefined = (await shop.readStream('cart-1')).at(-1);
void last;
try {
  await shop.append('cart-1', [{ type: 'CheckedOut', data: null }], { expectedVersion: 0 });
} catch (e) {
  if (isVersionConflict(e)) {
    const actual: number = e.actual;
    void actual;
  }
}

const projection: Projection = { name: 'p', version: 1, setup: (db) => db.exec('CREATE TABLE p (x)'), handle: () => {} };
void serve;
void projection;
const drive = (driver: SqlDriver) => createEngine(driver);
void drive;
