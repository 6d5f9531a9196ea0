/** A process manager in Chromium on OPFS, its page reloaded in the middle of a reaction. */
import type { Page } from '@playwright/test';
import { expect, test } from '../fixtures.ts';

test.describe.configure({ timeout: 120_000 });

async function poll<T>(page: Page, fn: () => Promise<T>, done: (value: T) => boolean): Promise<T> {
  for (let i = 0; i < 600; i++) {
    const value = await fn();
    if (done(value)) return value;
    await page.waitForTimeout(25);
  }
  throw new Error('Timed out waiting for the page');
}

test('a process manager reloaded in the middle of its reaction still sends each command exactly once', async ({ harness: page }) => {
  await page.evaluate(async () => {
    localStorage.setItem('pm-hang', '1');
    localStorage.removeItem('pm-hung');
    await window.cairnTest.startCheckout('pm-crash');
    const store = window.cairnTest.stores.get('pm-crash')!;
    await store.append('order-1', [{ type: 'OrderPlaced', data: { cartId: '42' } }]);
  });
  // The cart's checkout has committed; the second command hangs: reload now.
  await poll(page, () => page.evaluate(() => localStorage.getItem('pm-hung')), (v) => v === '1');
  const before = await page.evaluate(async () => {
    const store = window.cairnTest.stores.get('pm-crash')!;
    return { cart: (await store.readStream('cart-42')).length, consumers: await store.consumers() };
  });
  expect(before.cart).toBe(1);
  expect(before.consumers[0]?.position ?? 0).toBe(0);

  await page.reload();
  await page.waitForFunction(() => document.title === 'ready');
  await page.evaluate(async () => {
    localStorage.setItem('pm-hang', '0');
    await window.cairnTest.startCheckout('pm-crash');
  });
  const after = await poll(
    page,
    () =>
      page.evaluate(async () => {
        const store = window.cairnTest.stores.get('pm-crash')!;
        return {
          cart: (await store.readStream('cart-42')).map((e) => [e.type, e.metadata.causationId]),
          mailbox: (await store.readStream('mailbox-42')).map((e) => e.type),
          order: (await store.readStream('order-1'))[0]!.id,
          deadLetters: (await store.deadLetters()).length,
          position: (await store.consumers())[0]?.position ?? 0,
        };
      }),
    (v) => v.mailbox.length > 0 && v.position >= 1,
  );
  expect(after.cart).toEqual([['CheckedOut', after.order]]);
  expect(after.mailbox).toEqual(['Notified']);
  expect(after.deadLetters).toBe(0);
});
