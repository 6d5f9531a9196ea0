/**
 * The README's worked example (a shopping cart with a checkout process manager), run as it
 * is printed there, so the README stays true.
 */
import { expect, it } from 'vitest';
import { openStore, type AggregateDefinition } from '../../src/client/index.ts';

it('runs the README shopping-cart example', async () => {
  // --- README example start ---
  type ShopEvents = {
    ItemAdded: { sku: string; qty: number };
    CheckoutRequested: { total: number };
    OrderPlaced: { cartId: string; total: number };
  };

  type Cart = { items: Record<string, number>; checkingOut: boolean };
  type CartCommand = { kind: 'add'; sku: string; qty: number } | { kind: 'checkout' };

  const cart: AggregateDefinition<Cart, CartCommand, ShopEvents> = {
    category: 'cart',
    initialState: { items: {}, checkingOut: false },
    evolve(state, event) {
      switch (event.type) {
        case 'ItemAdded':
          return { ...state, items: { ...state.items, [event.data.sku]: (state.items[event.data.sku] ?? 0) + event.data.qty } };
        case 'CheckoutRequested':
          return { ...state, checkingOut: true };
        default:
          return state;
      }
    },
    decide(command, state) {
      if (state.checkingOut) throw new Error('This cart is being checked out');
      if (command.kind === 'add') return [{ type: 'ItemAdded', data: { sku: command.sku, qty: command.qty } }];
      const total = Object.values(state.items).reduce((a, b) => a + b, 0);
      if (total === 0) throw new Error('The cart is empty');
      return [{ type: 'CheckoutRequested', data: { total } }];
    },
    snapshotEvery: 100,
  };

  const order: AggregateDefinition<{ placed: boolean }, { cartId: string; total: number }, ShopEvents> = {
    category: 'order',
    initialState: { placed: false },
    evolve: (state, event) => (event.type === 'OrderPlaced' ? { placed: true } : state),
    decide: (command, state) => (state.placed ? [] : [{ type: 'OrderPlaced', data: command }]),
  };

  const store = await openStore<ShopEvents>({ name: 'shop' });
  const carts = store.aggregate(cart);
  const orders = store.aggregate(order);

  // When a checkout is requested, place the order: once, even if the reaction is replayed.
  const checkout = store.processManager({
    name: 'checkout',
    filter: { types: ['CheckoutRequested'] },
    react: (event) => {
      const cartId = event.stream.slice('cart-'.length);
      const { total } = event.data as ShopEvents['CheckoutRequested'];
      return [orders.command(cartId, { cartId, total })];
    },
  });

  await carts.handle('42', { kind: 'add', sku: 'A1', qty: 2 }, { metadata: { correlationId: 'session-7' } });
  await carts.handle('42', { kind: 'checkout' }, { metadata: { correlationId: 'session-7' } });

  const placed = await new Promise((resolve) => {
    const sub = store.subscribe({ types: ['OrderPlaced'] }, (e) => {
      sub.close();
      resolve(e);
    });
  });
  // placed: { stream: 'order-42', data: { cartId: '42', total: 2 },
  //           metadata: { correlationId: 'session-7', causationId: <the CheckoutRequested id> }, … }
  await checkout.stop();
  // --- README example end ---

  const [requested] = await store.readStream('cart-42', { direction: 'backward', limit: 1 });
  expect(placed).toMatchObject({
    stream: 'order-42',
    data: { cartId: '42', total: 2 },
    metadata: { correlationId: 'session-7', causationId: requested!.id },
  });
  await store.close();
});
