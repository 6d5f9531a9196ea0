/**
 * Export, import, backup and restore in Chromium, through the worker, across storages:
 * 100,000 events exported from OPFS and imported into IndexedDB come back event for event;
 * a backup of an IndexedDB store taken while appends run restores onto OPFS as a consistent
 * prefix; a restore over a store that holds events is refused unless `overwrite`.
 */
import { expect, openHarness, test } from './fixtures.ts';

test.describe.configure({ mode: 'serial' });

test('100,000 events exported from OPFS and imported into IndexedDB equal the original, event for event', async ({ persistent, harnessUrl }) => {
  test.setTimeout(300_000);
  const page = await persistent.newPage();
  await openHarness(page, harnessUrl);
  const r = await page.evaluate(async () => {
    const { cairn } = window.storageTest;
    const source = await cairn.openStore({ name: 'export-source', storage: 'opfs' });
    for (let b = 0; b < 100; b++) {
      await source.appendMany(
        Array.from({ length: 4 }, (_, s) => ({
          stream: `cart-${(b * 4 + s) % 97}`,
          events: Array.from({ length: 250 }, (_, i) => ({ type: i % 2 ? 'A' : 'B', data: { b, s, i }, ...(i % 7 ? {} : { metadata: { c: b } }) })),
        })),
      );
    }
    const collect = async (store: typeof source) => {
      const out: unknown[] = [];
      for await (const e of store.events({}, { batchSize: 5000 })) out.push(e);
      return out;
    };
    const t0 = performance.now();
    const file = await new Response(source.export()).blob();
    const exportMs = performance.now() - t0;
    const target = await cairn.openStore({ name: 'export-target', storage: 'indexeddb' });
    const t1 = performance.now();
    const result = await target.import(file);
    const importMs = performance.now() - t1;
    const [a, b] = await Promise.all([collect(source), collect(target)]);
    const again = await target.import(file.stream());
    await Promise.all([source.close(), target.close()]);
    return { result, again, count: a.length, equal: JSON.stringify(a) === JSON.stringify(b), bytes: file.size, exportMs, importMs };
  });
  console.log(`100,000 events, ${(r.bytes / 1e6).toFixed(1)} MB: export ${r.exportMs.toFixed(0)} ms, import into IndexedDB ${r.importMs.toFixed(0)} ms`);
  expect(r.count).toBe(100_000);
  expect(r.result).toEqual({ imported: 100_000, skipped: 0 });
  expect(r.equal).toBe(true);
  expect(r.again).toEqual({ imported: 0, skipped: 100_000 });
});

test('a backup of an IndexedDB store taken while appends run restores onto OPFS as a consistent prefix; a non-empty store is replaced only with overwrite', async ({ persistent, harnessUrl }) => {
  const page = await persistent.newPage();
  await openHarness(page, harnessUrl);
  const r = await page.evaluate(async () => {
    const { cairn, caught } = window.storageTest;
    const source = await cairn.openStore({ name: 'backup-source', storage: 'indexeddb' });
    let stop = false;
    let acked = 0;
    const loop = (async () => {
      for (let batch = 0; !stop; batch++) {
        await source.appendMany([
          { stream: `x-${batch % 5}`, events: [{ type: 'P', data: { batch } }, { type: 'P', data: { batch } }] },
          { stream: `y-${batch % 3}`, events: [{ type: 'P', data: { batch } }] },
        ]);
        acked++;
      }
    })();
    while (acked < 100) await new Promise((res) => setTimeout(res, 5));
    const bytes = await source.backup();
    const ackedAtBackup = acked;
    while (acked < ackedAtBackup + 30) await new Promise((res) => setTimeout(res, 5));
    stop = true;
    await loop;
    const events = async (store: typeof source) => {
      const out: [number, string, number][] = [];
      for await (const e of store.events()) out.push([e.position, e.stream, (e.data as { batch: number }).batch]);
      return out;
    };
    const original = await events(source);
    const restored = await cairn.openStore({ name: 'backup-copy', storage: 'opfs', restore: bytes });
    const copy = await events(restored);
    await restored.append('later', [{ type: 'Later' }]);
    await restored.close();
    const refused = await caught(() => cairn.openStore({ name: 'backup-copy', storage: 'opfs', restore: bytes }));
    const replaced = await cairn.openStore({ name: 'backup-copy', storage: 'opfs', restore: bytes, overwrite: true });
    const afterOverwrite = await replaced.head();
    await replaced.close();
    await source.close();
    return { original, copy, ackedAtBackup, refused, afterOverwrite, backupBytes: bytes.length };
  });
  expect(r.copy.length).toBeGreaterThanOrEqual(r.ackedAtBackup * 3);
  expect(r.copy.length).toBeLessThan(r.original.length);
  expect(r.copy).toEqual(r.original.slice(0, r.copy.length));
  const perBatch = new Map<number, number>();
  for (const [, , batch] of r.copy) perBatch.set(batch, (perBatch.get(batch) ?? 0) + 1);
  for (const [batch, count] of perBatch) expect(count, `batch ${batch}`).toBe(3);
  expect(r.refused, r.refused?.message).toMatchObject({ code: "INVALID_ARGUMENT", isOwnClass: true });
  expect(r.refused?.message).toMatch(/already holds \d+ events/);
  expect(r.afterOverwrite).toBe(r.copy.length);
});
