/**
 * The shop: pick a cart (or start one), add items and check out through the cart aggregate
 * (`useAggregate`), see the order the checkout process manager places, and the open carts
 * from the `cart_totals` projection (`useQuery`, live). The mail server switch makes the
 * mailer fail, so its dead letters show in the inspector.
 */
import { useAggregate, useQuery } from 'cairndb/react';
import { Suspense, useEffect, useState } from 'react';
import { ErrorText } from './errors.tsx';
import { MAIL_DOWN_KEY, cart, mailIsDown, order } from './shop.ts';

const SKUS = ['A1', 'B2', 'C3'];

/** The shop panel. */
export function CartPanel() {
  const [cartId, setCartId] = useState(() => localStorage.getItem('cairn-playground:cart') ?? newCartId());
  useEffect(() => localStorage.setItem('cairn-playground:cart', cartId), [cartId]);
  return (
    <section className="panel">
      <h2>Shop</h2>
      <div className="row">
        <label>
          Cart <input data-testid="cart-id" value={cartId} onChange={(e) => setCartId(e.target.value.trim() || newCartId())} />
        </label>
        <button type="button" onClick={() => setCartId(newCartId())}>New cart</button>
        <MailSwitch />
      </div>
      <Suspense fallback={<p className="muted">Loading cart-{cartId}…</p>}>
        <CartView cartId={cartId} />
      </Suspense>
      <CartList current={cartId} onPick={setCartId} />
    </section>
  );
}

function CartView({ cartId }: { cartId: string }) {
  const { state, version, handle } = useAggregate(cart, cartId);
  const placed = useAggregate(order, cartId).state;
  const [error, setError] = useState<unknown>();
  const [busy, setBusy] = useState(false);
  const send = async (command: Parameters<typeof handle>[0]) => {
    setBusy(true);
    setError(undefined);
    try {
      // One correlation id per cart: the inspector links everything that follows from it.
      await handle(command, { metadata: { correlationId: `session-${cartId}` } });
    } catch (e) {
      setError(e);
    } finally {
      setBusy(false);
    }
  };
  const lines = Object.entries(state.items);
  return (
    <div className="cart" data-testid="cart" data-version={version}>
      <p>
        <b>cart-{cartId}</b> at version {version}:{' '}
        {lines.length === 0 ? 'empty' : lines.map(([sku, qty]) => `${qty} × ${sku}`).join(', ')}
        {state.checkingOut ? ' · checking out' : ''}
        {placed.placed ? <span data-testid="order-placed"> · order placed ({placed.total} items)</span> : null}
      </p>
      <div className="row">
        {SKUS.map((sku) => (
          <button key={sku} type="button" disabled={busy || state.checkingOut} onClick={() => void send({ kind: 'add', sku, qty: 1 })}>
            Add {sku}
          </button>
        ))}
        <button type="button" className="primary" disabled={busy || state.checkingOut} onClick={() => void send({ kind: 'checkout' })}>
          Check out
        </button>
      </div>
      <ErrorText error={error} />
    </div>
  );
}

function CartList({ current, onPick }: { current: string; onPick: (id: string) => void }) {
  const carts = useQuery<{ id: string; lines: number; qty: number; status: string }>(
    'SELECT id, lines, qty, status FROM cart_totals ORDER BY rowid DESC LIMIT 8',
  );
  const [count] = useQuery<{ n: number }>('SELECT count(*) AS n FROM cart_totals');
  return (
    <div>
      <h3>
        Carts (<span data-testid="cart-count">{count?.n ?? 0}</span>), from the <code>cart_totals</code> projection
      </h3>
      <table>
        <tbody>
          {carts.map((c) => {
            const id = c.id.slice('cart-'.length);
            return (
              <tr key={c.id} className={id === current ? 'current' : undefined}>
                <td>
                  <button type="button" className="link" onClick={() => onPick(id)}>{c.id}</button>
                </td>
                <td>{c.lines} lines, {c.qty} items</td>
                <td>{c.status}</td>
              </tr>
            );
          })}
        </tbody>
      </table>
    </div>
  );
}

function MailSwitch() {
  const [down, setDown] = useState(mailIsDown);
  useEffect(() => {
    // Another tab may flip it (and the mailer may run there).
    const onStorage = (e: StorageEvent) => e.key === MAIL_DOWN_KEY && setDown(mailIsDown());
    addEventListener('storage', onStorage);
    return () => removeEventListener('storage', onStorage);
  }, []);
  return (
    <label title="While it is down, the mailer fails and its events become dead letters">
      <input
        type="checkbox"
        data-testid="mail-down"
        checked={down}
        onChange={(e) => {
          localStorage.setItem(MAIL_DOWN_KEY, e.target.checked ? '1' : '0');
          setDown(e.target.checked);
        }}
      />
      Mail server down
    </label>
  );
}

function newCartId(): string {
  return Math.random().toString(36).slice(2, 7);
}
