/**
 * The playground's domain, the README's worked example: carts that take items and ask for a
 * checkout, orders placed once per checkout by a process manager, and a mailer (a durable
 * consumer) that sends a receipt for each order, and fails while the "mail server" is down,
 * so that its dead letters can be seen and retried from the inspector.
 */
import { isVersionConflict, type AggregateDefinition, type Consumer, type ProcessManager, type Store } from 'cairndb';

/** The playground's events. */
export type ShopEvents = {
  ItemAdded: { sku: string; qty: number };
  CheckoutRequested: { total: number };
  OrderPlaced: { cartId: string; total: number };
  ReceiptSent: { cartId: string; total: number };
  LoadTested: { n: number; writer?: number };
};

/** A cart's state. */
export type Cart = { items: Record<string, number>; checkingOut: boolean };
/** What a cart can be asked. */
export type CartCommand = { kind: 'add'; sku: string; qty: number } | { kind: 'checkout' };

/** Carts: streams `cart-<id>`. */
export const cart: AggregateDefinition<Cart, CartCommand, ShopEvents> = {
  category: 'cart',
  initialState: () => ({ items: {}, checkingOut: false }),
  evolve(state, event) {
    switch (event.type) {
      case 'ItemAdded': {
        const { sku, qty } = event.data;
        return { ...state, items: { ...state.items, [sku]: (state.items[sku] ?? 0) + qty } };
      }
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

/** An order's state. */
export type Order = { placed: boolean; total: number };

/** Orders: streams `order-<cart id>`, placed at most once. */
export const order: AggregateDefinition<Order, { cartId: string; total: number }, ShopEvents> = {
  category: 'order',
  initialState: () => ({ placed: false, total: 0 }),
  evolve: (state, event) => (event.type === 'OrderPlaced' ? { placed: true, total: event.data.total } : state),
  decide: (command, state) => (state.placed ? [] : [{ type: 'OrderPlaced', data: command }]),
};

/** The localStorage key of the mail server switch, shared by every tab (the mailer may run in any). */
export const MAIL_DOWN_KEY = 'cairn-playground:mail-down';

/** Whether the pretend mail server is down. */
export function mailIsDown(): boolean {
  return localStorage.getItem(MAIL_DOWN_KEY) === '1';
}

/** What this tab runs of the domain: every tab starts them, one instance of each runs. */
export interface ShopWorkers {
  checkout: ProcessManager;
  mailer: Consumer;
}

/** Starts this tab's instances of the checkout process manager and the mailer. */
export function startShopWorkers(store: Store<ShopEvents>): ShopWorkers {
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
  const mailer = store.consumer(
    'mailer',
    { types: ['OrderPlaced'] },
    async (event) => {
      if (mailIsDown()) throw new Error('The mail server is down (switch it back on in the playground, then retry)');
      const { cartId, total } = event.data as ShopEvents['OrderPlaced'];
      try {
        await store.append(`receipt-${cartId}`, [{ type: 'ReceiptSent', data: { cartId, total }, metadata: {
          correlationId: event.metadata.correlationId ?? event.id, causationId: event.id } }], { expectedVersion: 'no_stream' });
      } catch (e) {
        // Delivered again after a crash (at least once): the receipt was already sent.
        if (!isVersionConflict(e)) throw e;
      }
    },
    { retries: 1, retryDelay: 50 },
  );
  return { checkout, mailer };
}
