import { beforeEach, describe, expect, it } from 'vitest';
import { openStore, type AggregateDefinition, type ProcessManagerDefinition, type Store } from '../../src/client/index.ts';
import { processManagerHandler } from '../../src/domain/process-manager.ts';

type Events = {
  OrderPlaced: { cartId: string; warehouse?: string };
  CheckedOut: { order: string };
  Reserved: { order: string };
};
type Cart = { checkedOut: boolean };

const carts: AggregateDefinition<Cart, { kind: 'checkout'; order: string }, Events> = {
  category: 'cart',
  initialState: { checkedOut: false },
  evolve: (s, e) => (e.type === 'CheckedOut' ? { checkedOut: true } : s),
  decide: (c, s) => {
    if (s.checkedOut) throw new Error('Already checked out');
    return [{ type: 'CheckedOut', data: { order: c.order } }];
  },
};

let failReservations = true;
const stock: AggregateDefinition<null, { order: string }, Events> = {
  category: 'stock',
  initialState: null,
  evolve: (s) => s,
  decide: (c) => {
    if (failReservations) throw new Error('Warehouse offline');
    return [{ type: 'Reserved', data: { order: c.order } }];
  },
};

let store: Store<Events>;
let n = 0;
beforeEach(async () => {
  failReservations = true;
  store = await openStore<Events>({ name: `pm-${n++}` });
});

async function until(check: () => Promise<boolean> | boolean): Promise<void> {
  for (let i = 0; i < 500 && !(await check()); i++) await new Promise((r) => setTimeout(r, 5));
  expect(await check()).toBe(true);
}

describe('process managers', () => {
  it('dispatches commands with the triggering event as causation, once each', async () => {
    const cartAgg = store.aggregate(carts);
    const pm = store.processManager({
      name: 'checkout',
      filter: { types: ['OrderPlaced'] },
      react: (e) => (e.type === 'OrderPlaced' ? [cartAgg.command(e.data.cartId, { kind: 'checkout', order: e.stream })] : []),
    });
    const placed = await store.append('order-1', [{ type: 'OrderPlaced', data: { cartId: '7' }, metadata: { correlationId: 'corr-9' } }]);
    await until(async () => (await store.readStream('cart-7')).length === 1);
    const [checkedOut] = await store.readStream('cart-7');
    expect(checkedOut).toMatchObject({ type: 'CheckedOut', data: { order: 'order-1' } });
    expect(checkedOut!.metadata).toEqual({ correlationId: 'corr-9', causationId: placed.ids[0] });
    await pm.stop();
  });

  it('replays a reaction after a crash without sending its commands twice', async () => {
    const cartAgg = store.aggregate(carts);
    const definition: ProcessManagerDefinition<Events> = {
      name: 'checkout',
      filter: { types: ['OrderPlaced'] },
      react: (e) => [cartAgg.command((e.data as { cartId: string }).cartId, { kind: 'checkout', order: e.stream })],
    };
    await store.append('order-1', [{ type: 'OrderPlaced', data: { cartId: '8' } }]);
    const [event] = await store.readStream('order-1');
    // The reaction runs, and runs again as it would after a crash that came before its
    // checkpoint: the second run must recognise the command (deciding again would throw).
    await processManagerHandler(definition)(event!);
    await processManagerHandler(definition)(event!);
    const cart = await store.readStream('cart-8');
    expect(cart.map((e) => e.type)).toEqual(['CheckedOut']);
    expect(cart[0]!.metadata.causationId).toBe(event!.id);
    // Another manager reacting to the same event with its own command 0 is not mistaken for it.
    const other = store.aggregate({ ...carts, category: 'wishlist' });
    await processManagerHandler<Events>({ ...definition, name: 'wishlist', react: () => [other.command('8', { kind: 'checkout', order: 'x' })] })(event!);
    expect((await store.readStream('wishlist-8')).map((e) => e.type)).toEqual(['CheckedOut']);
  });

  it('dead-letters a failing command with the event, the command and the error; lists, retries and discards', async () => {
    const stockAgg = store.aggregate(stock);
    const pm = store.processManager(
      {
        name: 'reserve',
        filter: { types: ['OrderPlaced'] },
        react: (e) => [stockAgg.command(String((e.data as { warehouse: string }).warehouse), { order: e.stream })],
      },
      { retries: 1, retryDelay: 1 },
    );
    const a = await store.append('order-a', [{ type: 'OrderPlaced', data: { cartId: '1', warehouse: 'north' } }]);
    await store.append('order-b', [{ type: 'OrderPlaced', data: { cartId: '2', warehouse: 'south' } }]);
    await until(async () => (await pm.deadLetters()).length === 2);
    const [letter] = await pm.deadLetters();
    expect(letter).toMatchObject({ consumer: 'reserve', position: 1, eventId: a.ids[0], attempts: 2 });
    expect(letter!.error).toMatch(/Command 0 to stock-north failed: Warehouse offline/);
    expect(JSON.parse(letter!.detail!)).toEqual({ category: 'stock', id: 'north', command: { order: 'order-a' }, index: 0 });
    expect((await store.consumers())[0]).toMatchObject({ name: 'reserve', position: 2, deadLetters: 2 });

    // A retry that fails again keeps the letter, with one more attempt.
    await expect(pm.retryDeadLetter(1)).rejects.toThrow(/Warehouse offline/);
    expect((await pm.deadLetters())[0]).toMatchObject({ position: 1, attempts: 3 });
    // Once the cause is fixed, a retry sends the command and removes the letter.
    failReservations = false;
    await pm.retryDeadLetter(1);
    expect((await store.readStream('stock-north')).map((e) => e.type)).toEqual(['Reserved']);
    expect(await pm.discardDeadLetter(2)).toBe(true);
    expect(await pm.discardDeadLetter(2)).toBe(false);
    expect(await pm.deadLetters()).toEqual([]);
    expect(await store.readStream('stock-south')).toEqual([]);
    await expect(pm.retryDeadLetter(99)).rejects.toMatchObject({ code: 'INVALID_ARGUMENT' });
    await pm.stop();
  });
});
