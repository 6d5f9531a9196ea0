/**
 * Export, import, backup and restore through the public API, in-process (Node): the NDJSON
 * round trip of 100,000 events, idempotent re-imports, bad lines named and their batch kept
 * out, and a backup taken while appends run that restores to a consistent prefix.
 */
import { describe, expect, it } from 'vitest';
import { openStore, type RecordedEvent, type Store } from '../../src/client/index.ts';
import { IMPORT_BATCH } from '../../src/client/transfer.ts';

let n = 0;
const fresh = (options: Parameters<typeof openStore>[0] | object = {}): Promise<Store> =>
  openStore({ name: `transfer-${n++}`, ...options });

async function all(store: Store): Promise<RecordedEvent[]> {
  const out: RecordedEvent[] = [];
  for await (const e of store.events({}, { batchSize: 5000 })) out.push(e);
  return out;
}

async function text(stream: ReadableStream<Uint8Array>): Promise<string> {
  return new Response(stream).text();
}

describe('export and import', () => {
  it('round-trips 100,000 events event for event, and a second import skips them all', async () => {
    const source = await fresh();
    for (let b = 0; b < 100; b++) {
      await source.appendMany(
        Array.from({ length: 10 }, (_, s) => ({
          stream: `cart-${(b * 10 + s) % 337}`,
          ...(s % 3 === 0 ? { routingKey: 'eu' } : {}),
          events: Array.from({ length: 100 }, (_, i) => ({
            type: i % 2 ? 'ItemAdded' : 'ItemRemoved',
            data: { b, s, i, sku: `A${i}`, note: 'é ✓ "quoted"\n' },
            ...(i % 5 === 0 ? { metadata: { correlationId: `c-${b}` } } : {}),
            schemaVersion: 1 + (i % 3),
          })),
        })),
      );
    }
    const original = await all(source);
    expect(original).toHaveLength(100_000);
    const started = performance.now();
    const ndjson = await text(source.export());
    const exportMs = performance.now() - started;
    expect(ndjson.split('\n').filter(Boolean)).toHaveLength(100_000);

    const target = await fresh();
    const progress: number[] = [];
    const t = performance.now();
    const result = await target.import(ndjson, { onProgress: (p) => progress.push(p.imported) });
    const importMs = performance.now() - t;
    expect(result).toEqual({ imported: 100_000, skipped: 0 });
    expect(progress).toHaveLength(100_000 / IMPORT_BATCH);
    expect(await all(target)).toEqual(original);
    expect(await target.import(ndjson)).toEqual({ imported: 0, skipped: 100_000 });
    expect(await target.head()).toBe(100_000);
    console.log(`100,000 events: export ${exportMs.toFixed(0)} ms (${(ndjson.length / 1e6).toFixed(1)} MB), import ${importMs.toFixed(0)} ms`);
    await Promise.all([source.close(), target.close()]);
  }, 120_000);

  it('exports only what the filter matches, and reads a Blob or a byte stream as well as a string', async () => {
    const source = await fresh();
    await source.append('a-1', [{ type: 'A' }, { type: 'B' }]);
    await source.append('b-1', [{ type: 'A' }]);
    const onlyA = await text(source.export({ filter: { types: ['A'] } }));
    expect(onlyA.trim().split('\n').map((l) => (JSON.parse(l) as RecordedEvent).stream)).toEqual(['a-1', 'b-1']);
    const everything = await text(source.export());
    const fromBlob = await fresh();
    expect(await fromBlob.import(new Blob([everything]))).toEqual({ imported: 3, skipped: 0 });
    const fromStream = await fresh();
    // Split in the middle of a multi-byte character and of a line.
    const bytes = new TextEncoder().encode(everything.replace('"A"', '"Ä"'));
    const chunks = [bytes.slice(0, 37), bytes.slice(37, 38), bytes.slice(38)];
    const stream = new ReadableStream<Uint8Array>({ start: (c) => { for (const ch of chunks) c.enqueue(ch); c.close(); } });
    expect(await fromStream.import(stream)).toEqual({ imported: 3, skipped: 0 });
    expect((await all(fromStream)).map((e) => e.type)).toEqual(['Ä', 'B', 'A']);
  });

  it('names a bad line and writes nothing of its batch', async () => {
    const source = await fresh();
    await source.append('s-1', [{ type: 'One' }, { type: 'Two' }, { type: 'Three' }]);
    const lines = (await text(source.export())).trim().split('\n');
    const target = await fresh();
    const notJson = await target.import([lines[0], '{ nope', lines[2]].join('\n')).catch((e: unknown) => e);
    expect(notJson).toMatchObject({ code: 'INVALID_ARGUMENT', message: expect.stringMatching(/^Line 2 is not JSON/) });
    const noType = lines[1]!.replace('"type":"Two"', '"type":""');
    const badEvent = await target.import([lines[0], noType].join('\n')).catch((e: unknown) => e);
    expect(badEvent).toMatchObject({ code: 'INVALID_EVENT', index: 2, message: expect.stringMatching(/^Line 2: /) });
    // A gap in a stream's versions is found by the engine, and named by its line too.
    const gap = await target.import([lines[0], lines[2]].join('\n')).catch((e: unknown) => e);
    expect(gap).toMatchObject({ code: 'INVALID_EVENT', index: 2, message: expect.stringMatching(/^Line 2: version 3 of stream "s-1" does not follow its version 1/) });
    expect(await target.head()).toBe(0);
    expect(await target.import(lines.join('\n'))).toEqual({ imported: 3, skipped: 0 });
  });
});

describe('backup and restore', () => {
  it('a backup taken while appends run restores to a consistent prefix of the log', async () => {
    const source = await fresh();
    let stop = false;
    const acked: number[] = [];
    const loop = (async () => {
      for (let batch = 0; !stop; batch++) {
        await source.appendMany([
          { stream: `x-${batch % 5}`, events: [{ type: 'P', data: { batch, i: 0 } }, { type: 'P', data: { batch, i: 1 } }] },
          { stream: `y-${batch % 3}`, events: [{ type: 'P', data: { batch, i: 2 } }] },
        ]);
        acked.push(batch);
      }
    })();
    const unawaited = Array.from({ length: 50 }, (_, i) => source.append(`z-${i}`, [{ type: 'Z', data: { i } }]));
    while (acked.length < 200) await new Promise((r) => setTimeout(r, 1));
    const [bytes] = await Promise.all([source.backup(), ...unawaited]);
    const ackedAtBackup = acked.length;
    while (acked.length < ackedAtBackup + 50) await new Promise((r) => setTimeout(r, 1));
    stop = true;
    await loop;
    const restored = await fresh({ restore: bytes });
    const copy = await all(restored);
    const original = await all(source);
    expect(copy.length).toBeGreaterThan(0);
    expect(copy.length).toBeLessThan(original.length);
    // A prefix, event for event, and every group in it whole.
    expect(copy).toEqual(original.slice(0, copy.length));
    const perBatch = new Map<number, number>();
    for (const e of copy.filter((e) => e.type === 'P')) {
      const { batch } = e.data as { batch: number };
      perBatch.set(batch, (perBatch.get(batch) ?? 0) + 1);
    }
    for (const [batch, count] of perBatch) expect(count, `batch ${batch}`).toBe(3);
    expect(perBatch.size).toBeGreaterThanOrEqual(ackedAtBackup - 1);
    // The restored store goes on from there.
    expect((await restored.append('after', [{ type: 'After' }])).position).toBe(copy.length + 1);
  }, 60_000);

  it('refuses bytes that are not a backup, with INVALID_ARGUMENT', async () => {
    await expect(fresh({ restore: new Uint8Array(4096) })).rejects.toMatchObject({ code: 'INVALID_ARGUMENT' });
    await expect(fresh({ restore: 'nope' })).rejects.toMatchObject({ code: 'INVALID_ARGUMENT' });
  });
});
