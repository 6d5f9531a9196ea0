/**
 * The playground (`npm run demo`) in Chromium, on OPFS, driven as a person would: the shop's
 * buttons append through the React bindings, and the inspector beside it is checked at each
 * step: the log and an event's details, correlation links, the streams, the SQL console (a
 * query, an error with its code, completion, a live query), a dead letter retried, the
 * projections and the activity chart under load, and a leader handover between two tabs.
 * Screenshots of the main views are attached to the report.
 */
import type { BrowserContext, Locator, Page } from '@playwright/test';
import { expect, test } from './playground-fixtures.ts';

test.describe.configure({ timeout: 180_000 });

test('appending through the shop shows in the log, with the full event, its correlation and the streams', async ({ persistent, playground, shoot }) => {
  const page = await openPlayground(persistent, playground);
  const inspector = inspectorOf(page);
  expect(await page.getAttribute('body', 'data-storage')).toBe('opfs');
  await expect(inspector.locator('header [data-role]')).toHaveText('leader');

  await useCart(page, 't1');
  await page.getByRole('button', { name: 'Add A1' }).click();
  await expect(page.getByTestId('cart')).toHaveAttribute('data-version', '1');
  await page.getByRole('button', { name: 'Add A1' }).click();
  await expect(page.getByTestId('cart')).toHaveAttribute('data-version', '2');
  await page.getByRole('button', { name: 'Add B2' }).click();
  await expect(page.getByTestId('cart')).toContainText('cart-t1 at version 3: 2 × A1, 1 × B2');

  // The log, newest first, following the commits.
  const rows = inspector.locator('tr[data-position]');
  await expect(rows).toHaveCount(3);
  expect(await cells(rows.first())).toEqual(['3', 'cart-t1', '3', 'ItemAdded', 'session-t1']);

  // The full event.
  await rows.nth(1).click();
  const detail = inspector.locator('.detail');
  await expect(detail).toContainText('ItemAdded · #2');
  await expect(detail.locator('dd').nth(0)).toHaveText(/^[0-9A-HJKMNP-TV-Z]{26}$/);
  await expect(detail).toContainText('session-t1');
  await expect(detail.locator('.event-data')).toContainText('"sku": "A1"');
  await shoot(page, 'log');

  // Checking out: the process manager places the order, the mailer sends the receipt, all under one correlation.
  await page.getByRole('button', { name: 'Check out' }).click();
  await expect(page.getByTestId('order-placed')).toBeVisible();
  await detail.getByRole('button', { name: 'session-t1' }).click();
  await expect(inspector.locator('.pager')).toContainText('correlation session-t1');
  await expect(rows).toHaveCount(6);
  expect(await rows.evaluateAll((trs) => trs.map((tr) => tr.children[4]!.textContent))).toEqual([
    'ReceiptSent',
    'OrderPlaced',
    'CheckoutRequested',
    'ItemAdded',
    'ItemAdded',
    'ItemAdded',
  ]);
  // The order's causation is the checkout request: its link shows that event.
  await rows.nth(1).click();
  await expect(detail).toContainText('OrderPlaced · #5');
  await shoot(page, 'correlation');
  await detail.locator('dt:text-is("causation") + dd button').click();
  await expect(detail).toContainText('CheckoutRequested · #4');

  // A stream link filters the log by it; paging goes both ways.
  await detail.locator('dt:text-is("stream") + dd button').click();
  await expect(inspector.locator('.pager')).toContainText('stream cart-t1');
  await expect(rows).toHaveCount(4);

  // The streams, by category, with their versions.
  await openView(page, 'streams');
  await expect(inspector.locator('tr[data-stream="cart-t1"] td').nth(1)).toHaveText('4');
  await expect(inspector.locator('tr[data-stream="order-t1"] td').nth(1)).toHaveText('1');
  await expect(inspector.locator('tr[data-stream="receipt-t1"] td').nth(1)).toHaveText('1');
  await expect(inspector.locator('tr[data-category="cart"]')).toContainText('1 stream, 4 events');
  await shoot(page, 'streams');
});

test('the log pages both ways with its cursors, and follows new events on its newest page', async ({ persistent, playground }) => {
  const page = await openPlayground(persistent, playground);
  const inspector = inspectorOf(page);
  await page.locator('[data-action=writers]').click();
  await expect(page.getByTestId('load-result')).toContainText('10 writers × 200: 2000 events in');
  const rows = inspector.locator('tr[data-position]');
  await expect(rows.first().locator('td').first()).toHaveText('2000');
  await expect(rows).toHaveCount(50);
  const positions = () => rows.evaluateAll((trs) => trs.map((tr) => Number((tr as HTMLElement).dataset.position)));
  await inspector.getByRole('button', { name: 'Older →' }).click();
  await expect(rows.first().locator('td').first()).toHaveText('1950');
  await inspector.getByRole('button', { name: 'Oldest ⇥' }).click();
  await expect(rows.first().locator('td').first()).toHaveText('50');
  expect((await positions()).at(-1)).toBe(1);
  await expect(inspector.getByRole('button', { name: 'Older →' })).toBeDisabled();
  await inspector.getByRole('button', { name: '← Newer' }).click();
  await expect(rows.first().locator('td').first()).toHaveText('100');
  // Not on the newest page: new events do not move it.
  await useCart(page, 'f1');
  await page.getByRole('button', { name: 'Add C3' }).click();
  await expect(page.getByTestId('cart')).toHaveAttribute('data-version', '1');
  await expect(rows.first().locator('td').first()).toHaveText('100');
  await inspector.getByRole('button', { name: '⇤ Newest' }).click();
  await expect(rows.first().locator('td').first()).toHaveText('2001');
  await page.getByRole('button', { name: 'Add C3' }).click();
  await expect(rows.first().locator('td').first()).toHaveText('2002');
  // The filters.
  await inspector.locator('input[name=category]').fill('writer');
  await inspector.locator('input[name=types]').fill('LoadTested');
  await inspector.getByRole('button', { name: 'Filter' }).click();
  await expect(rows.first().locator('td').first()).toHaveText('2000');
  await expect(inspector.locator('.pager')).toContainText('category writer, types LoadTested');
});

test('the SQL console runs a query, shows errors with their code, completes table names, and runs live', async ({ persistent, playground, shoot }) => {
  const page = await openPlayground(persistent, playground);
  const inspector = inspectorOf(page);
  await useCart(page, 's1');
  await page.getByRole('button', { name: 'Add A1' }).click();
  await expect(page.getByTestId('cart-count')).toHaveText('1');

  await openView(page, 'sql');
  await expect(inspector.locator('.sql-view')).toHaveAttribute('data-editor', 'ready');
  const results = inspector.locator('.result-table');
  await runSql(page, "SELECT id, lines, qty, status FROM cart_totals WHERE id = 'cart-s1'");
  await expect(results.locator('thead th')).toHaveText(['id', 'lines', 'qty', 'status']);
  await expect(results.locator('tbody tr')).toHaveText([/cart-s1\s*1\s*1\s*open/]);
  await expect(inspector.getByTestId('sql-status')).toContainText('1 row in');

  // Errors carry their Cairn code.
  await runSql(page, 'DELETE FROM events');
  await expect(inspector.locator('.sql-error')).toHaveAttribute('data-code', 'READ_ONLY_QUERY');
  await expect(inspector.locator('.sql-error')).toContainText('READ_ONLY_QUERY');
  await runSql(page, 'SELEC 1');
  await expect(inspector.locator('.sql-error')).toHaveAttribute('data-code', 'INVALID_ARGUMENT');
  await expect(inspector.locator('.sql-error')).toContainText('syntax error');

  // Completion knows the store's tables (from sqlite_schema) and their columns (pragma_table_info).
  await setSql(page, 'SELECT * FROM cart_to');
  await page.keyboard.press('Control+Space');
  await expect(inspector.locator('.cm-tooltip-autocomplete')).toContainText('cart_totals');
  await page.keyboard.press('Escape');
  await setSql(page, 'SELECT cart_totals.');
  await page.keyboard.press('Control+Space');
  await expect(inspector.locator('.cm-tooltip-autocomplete')).toContainText('status');
  await page.keyboard.press('Escape');

  // Live: store.watch runs it again after each commit to cart_totals.
  await setSql(page, 'SELECT count(*) AS carts, sum(qty) AS items FROM cart_totals');
  await page.keyboard.press('Escape');
  await inspector.locator('input[name=live]').check();
  await expect(inspector.getByTestId('sql-status')).toContainText('Live · 1 rows · run 1 time');
  await expect(results.locator('tbody tr')).toHaveText([/^1\s*1$/]);
  await useCart(page, 's2');
  await page.getByRole('button', { name: 'Add B2' }).click();
  await expect(results.locator('tbody tr')).toHaveText([/^2\s*2$/]);
  await expect(inspector.getByTestId('sql-status')).toContainText('run 2 times');
  await page.getByRole('button', { name: 'Add B2' }).click();
  await expect(results.locator('tbody tr')).toHaveText([/^2\s*3$/]);
  await shoot(page, 'sql');
  await inspector.locator('input[name=live]').uncheck();
  await expect(inspector.getByTestId('sql-status')).toHaveText('Live query stopped.');

  // What ran is kept, most recent first, across reloads.
  await inspector.locator('.history-box summary').click();
  await expect(inspector.locator('.history li').first()).toHaveText('SELECT count(*) AS carts, sum(qty) AS items FROM cart_totals');
  await expect(inspector.locator('.history li')).toContainText(['DELETE FROM events']);
});

test('a dead letter of the mailer is listed with its error, and retried from the inspector once the mail server is back', async ({ persistent, playground, shoot }) => {
  const page = await openPlayground(persistent, playground);
  const inspector = inspectorOf(page);
  await page.getByTestId('mail-down').check();
  await useCart(page, 'd1');
  await page.getByRole('button', { name: 'Add A1' }).click();
  await expect(page.getByTestId('cart')).toHaveAttribute('data-version', '1');
  await page.getByRole('button', { name: 'Check out' }).click();
  await expect(page.getByTestId('order-placed')).toBeVisible();

  await openView(page, 'consumers');
  const mailer = inspector.locator('tr[data-consumer=mailer]');
  await expect(mailer.locator('td').nth(4)).toHaveText('1');
  await expect(mailer).toHaveAttribute('data-state', 'running');
  await expect(mailer).toContainText('in this tab');
  await expect(inspector.locator('tr[data-consumer=checkout]')).toHaveAttribute('data-state', 'running');
  const letter = inspector.locator('tr[data-dead-letter]');
  await expect(letter).toHaveCount(1);
  await expect(letter).toContainText('The mail server is down');
  await expect(letter.locator('td').nth(2)).toHaveText('2'); // 1 + retries attempts
  await shoot(page, 'consumers');

  // Still down: the retry fails, the letter stays with the new error.
  await letter.locator('[data-action=retry]').click();
  await expect(inspector.locator('.action-result')).toHaveAttribute('data-outcome', 'failed');
  await expect(letter.locator('td').nth(2)).toHaveText('3');

  await page.getByTestId('mail-down').uncheck();
  await letter.locator('[data-action=retry]').click();
  await expect(inspector.locator('.action-result')).toHaveAttribute('data-outcome', 'ok');
  await expect(letter).toHaveCount(0);
  await expect(mailer.locator('td').nth(4)).toHaveText('0');
  // The retried handler sent the receipt.
  await openView(page, 'streams');
  await expect(inspector.locator('tr[data-stream="receipt-d1"] td').nth(1)).toHaveText('1');
});

test('the projections, the activity chart under load, and the storage panel', async ({ persistent, playground, shoot }) => {
  const page = await openPlayground(persistent, playground);
  const inspector = inspectorOf(page);
  await openView(page, 'projections');
  const totals = inspector.locator('tr[data-projection=cart_totals]');
  await expect(totals).toHaveAttribute('data-state', 'ready');
  await expect(totals.locator('td').nth(1)).toHaveText('2');

  await openView(page, 'activity');
  await expect(inspector.locator('.activity-view')).toHaveAttribute('data-chart', 'ready');
  await page.locator('[data-action=writers]').click();
  await expect(page.getByTestId('load-result')).toContainText('2000 events in', { timeout: 120_000 });
  await page.locator('[data-action=append-10k]').click();
  await expect(page.getByTestId('load-result')).toContainText('10,000 events: 10000 events in', { timeout: 120_000 });
  await expect(inspector.locator('[data-stat=events] b')).toHaveText('12000');
  const commits = Number(await inspector.locator('[data-stat=commits] b').textContent());
  // The 10 writers' 2,000 appends were group-committed into fewer transactions; the batches are 20 appends.
  expect(commits).toBeGreaterThan(20);
  expect(commits).toBeLessThan(2_020);
  await expect(inspector.locator('.chart canvas').first()).toBeVisible();
  await shoot(page, 'activity');

  await openView(page, 'projections');
  await expect(totals.locator('td').nth(3)).toHaveText('12000 / 12000');
  await openView(page, 'storage');
  await expect(inspector.getByTestId('storage-mode')).toHaveText('opfs');
  await expect(inspector.locator('.storage-view')).toContainText(/used of/);
  // Headless Chromium refuses persistence without a prompt: the view says so and offers to ask.
  await expect(inspector.locator('.storage-view [data-persisted]')).toHaveAttribute('data-persisted', 'no');
  await expect(inspector.getByTestId('persist')).toBeVisible();
  await expect(inspector.locator('.storage-view [data-sync-state]')).toHaveAttribute('data-sync-state', 'disabled');
  await shoot(page, 'storage');
});

test('a second tab follows, and takes over when the leader tab closes', async ({ persistent, playground, shoot }) => {
  const first = await openPlayground(persistent, playground);
  await expect(first.getByTestId('role')).toHaveText('leader');
  const [second] = await Promise.all([persistent.waitForEvent('page'), first.locator('[data-action=open-tab]').click()]);
  await ready(second);
  await expect(second.getByTestId('role')).toHaveText('follower');

  // Each inspector sees the other tab.
  await openView(first, 'tabs');
  await expect(inspectorOf(first).locator('tr[data-tab]')).toHaveAttribute('data-role', 'follower');
  await openView(second, 'tabs');
  await expect(inspectorOf(second).locator('tr[data-tab]')).toHaveAttribute('data-role', 'leader');
  await expect(inspectorOf(second).getByTestId('tab-role')).toHaveText('follower');
  await expect(inspectorOf(second).getByTestId('election')).toContainText('A leader serves the store');

  // A follower's append goes through the leader, and both logs show it.
  await useCart(second, 'h1');
  await second.getByRole('button', { name: 'Add A1' }).click();
  await expect(second.getByTestId('cart')).toHaveAttribute('data-version', '1');
  await openView(first, 'log');
  await expect(inspectorOf(first).locator('tr[data-position="1"]')).toContainText('cart-h1');

  // The handover happens while the second tab's inspector shows its log; its Tabs view still has the story.
  await openView(second, 'log');
  await first.close({ runBeforeUnload: true });
  await expect(second.getByTestId('role')).toHaveText('leader');
  const inspector = inspectorOf(second);
  await expect(inspector.locator('header [data-role]')).toHaveText('leader');
  await openView(second, 'tabs');
  await expect(inspector.getByTestId('tab-role')).toHaveText('leader');
  await expect(inspector.locator('header [data-role]')).toHaveText('leader');
  await expect(inspector.locator('.role-changes li')).toHaveText([/opened as follower$/, /became leader$/]);
  await expect(inspector.locator('tr[data-tab]')).toHaveCount(0, { timeout: 15_000 });
  await shoot(second, 'tabs');

  // The new leader serves: the data is still there, and appends go on.
  await second.getByRole('button', { name: 'Add B2' }).click();
  await expect(second.getByTestId('cart')).toContainText('cart-h1 at version 2: 1 × A1, 1 × B2');
  await openView(second, 'log');
  await expect(inspector.locator('tr[data-position]')).toHaveCount(2);
});

/** Opens the playground in a new tab and waits for the store and the inspector. */
async function openPlayground(context: BrowserContext, url: string): Promise<Page> {
  const page = await context.newPage();
  await page.setViewportSize({ width: 1440, height: 900 });
  await page.goto(url);
  await ready(page);
  return page;
}

async function ready(page: Page): Promise<void> {
  await page.waitForSelector('body[data-role]', { timeout: 60_000 });
  await inspectorOf(page).locator('nav.tabs').waitFor();
}

function inspectorOf(page: Page): Locator {
  return page.locator('[data-cairn-inspector]');
}

async function openView(page: Page, view: string): Promise<void> {
  await inspectorOf(page).locator(`[data-view=${view}]`).click();
  await expect(inspectorOf(page).locator('main.view')).toHaveAttribute('data-view', view);
}

async function useCart(page: Page, id: string): Promise<void> {
  await page.getByTestId('cart-id').fill(id);
  await expect(page.getByTestId('cart')).toContainText(`cart-${id} at version`);
}

async function cells(row: Locator): Promise<string[]> {
  // position, stream, version, type, correlation (time and data vary)
  const text = await row.locator('td').allTextContents();
  return [text[0]!, text[2]!, text[3]!, text[4]!, text[5]!];
}

async function setSql(page: Page, sql: string): Promise<void> {
  const editor = inspectorOf(page).locator('.cm-content');
  await editor.click();
  await page.keyboard.press('ControlOrMeta+a');
  await page.keyboard.press('Backspace');
  await page.keyboard.insertText(sql);
}

async function runSql(page: Page, sql: string): Promise<void> {
  await setSql(page, sql);
  await page.keyboard.press('ControlOrMeta+Enter');
}
