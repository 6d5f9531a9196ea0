import { openHarness, test } from './fixtures.ts';
test('open timing', async ({ persistent, harnessUrl }) => {
  test.setTimeout(300_000);
  const page = await persistent.newPage();
  page.on('console', (m) => { if (m.text().includes('IDBLOAD')) console.log(m.text()); });
  await openHarness(page, harnessUrl);
  await page.evaluate(async () => {
    const s = await window.storageTest.cairn.openStore({ name: 'big', storage: 'indexeddb' });
    const data = { sku: 'A1', qty: 2, note: 'x'.repeat(160) };
    for (let b = 0; b < 30; b++) await s.append(`fill-${b}`, Array.from({ length: 10000 }, (_, i) => ({ type: 'T' + (i % 4), data: { ...data, i } })));
    await s.close();
  });
  for (let k = 0; k < 3; k++) {
    const ms = await page.evaluate(async () => {
      const t = performance.now();
      const s = await window.storageTest.cairn.openStore({ name: 'big', storage: 'indexeddb' });
      await s.read({}, { first: 100 });
      const ms = performance.now() - t;
      await s.close();
      return ms;
    });
    console.log('open ms', ms.toFixed(0));
  }
});
