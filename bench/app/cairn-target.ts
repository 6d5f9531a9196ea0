/**
 * The cairn targets: the public page API (`openStore`), exactly as an app calls it, on OPFS
 * (`cairn`) and on IndexedDB (`cairn-idb`). Every duration is taken in the page, so it
 * includes validation, encoding, the postMessage hop to the worker and back, group commit,
 * and decoding into recorded events (and on IndexedDB, each commit's write to IndexedDB).
 */
import { openStore, type Store } from '../../src/client/index.ts';
import { interleaved, type BenchTarget, type CairnTargetName, type ColdOpen } from '../jobs.ts';
import { eventData, eventType, makeEvents } from './events.ts';
import { removeOpfsStore } from './opfs.ts';

const stores = new Map<string, Promise<Store>>();

const STORAGE = { cairn: 'opfs', 'cairn-idb': 'indexeddb' } as const;

/** A cairn target's jobs, on OPFS or on IndexedDB. */
export function cairnTarget(target: CairnTargetName): BenchTarget {
  const storage = STORAGE[target];
  const store = (name: string): Promise<Store> => {
    let s = stores.get(name);
    if (s === undefined) {
      s = openStore({ name, storage });
      stores.set(name, s);
    }
    return s;
  };
  const jobs: BenchTarget = {
    async singleAppends({ store: name, stream, count }) {
      const s = await store(name);
      const latenciesMs = new Array<number>(count);
      const start = performance.now();
      for (let i = 0; i < count; i++) {
        const t = performance.now();
        await s.append(stream, [{ type: eventType(i), data: eventData(i) }]);
        latenciesMs[i] = performance.now() - t;
      }
      return { totalMs: performance.now() - start, latenciesMs };
    },

    async concurrentAppends({ store: name, streamPrefix, streams, count }) {
      const s = await store(name);
      const start = performance.now();
      const pending = new Array<Promise<unknown>>(count);
      for (let i = 0; i < count; i++) {
        pending[i] = s.append(`${streamPrefix}-${i % streams}`, [{ type: eventType(i), data: eventData(i) }]);
      }
      await Promise.all(pending);
      return { totalMs: performance.now() - start };
    },

    async batchAppends({ store: name, streamPrefix, count, batch, interleave }) {
      const s = await store(name);
      let totalMs = 0;
      for (let call = 0, from = 0; from < count; call++, from += batch) {
        const events = makeEvents(from, Math.min(batch, count - from));
        const t = performance.now();
        await s.append(`${streamPrefix}-${call}`, events);
        totalMs += performance.now() - t;
        const extra = interleaved(interleave, call);
        if (extra.count > 0) await s.append(interleave!.stream, makeEvents(extra.from, extra.count));
      }
      return { totalMs };
    },

    async readAll({ store: name, count, pageSize }) {
      const s = await store(name);
      const start = performance.now();
      let read = 0;
      let after: string | null = null;
      while (read < count) {
        const first = Math.min(pageSize, count - read);
        const page = await s.read({}, after === null ? { first } : { first, after });
        read += page.edges.length;
        after = page.pageInfo.endCursor;
        if (!page.pageInfo.hasNextPage) break;
      }
      return { totalMs: performance.now() - start, count: read };
    },

    async readStream({ store: name, stream, repeats }) {
      const s = await store(name);
      const samplesMs: number[] = [];
      let count = 0;
      for (let r = 0; r < repeats; r++) {
        const t = performance.now();
        count = (await s.readStream(stream)).length;
        samplesMs.push(performance.now() - t);
      }
      return { samplesMs, count };
    },

    async close({ store: name }) {
      const s = stores.get(name);
      stores.delete(name);
      if (s !== undefined) await (await s).close();
      return null;
    },

    async drop({ store: name }) {
      await jobs.close({ store: name });
      if (storage === 'opfs') await removeOpfsStore(name);
      else await deleteIndexedDb(`cairn:${name}`);
      return null;
    },
  };
  return jobs;
}

function deleteIndexedDb(name: string): Promise<void> {
  return new Promise((resolve, reject) => {
    const request = indexedDB.deleteDatabase(name);
    request.onsuccess = () => resolve();
    request.onerror = () => reject(request.error);
  });
}

/** Opens a closed store from nothing (a new worker) and reads its first page. */
export async function cairnColdOpen(target: CairnTargetName, name: string, pageSize: number): Promise<ColdOpen> {
  if (stores.has(name)) throw new Error(`Close ${name} before a cold open`);
  const start = performance.now();
  const s = await openStore({ name, storage: STORAGE[target] });
  const openMs = performance.now() - start;
  const page = await s.read({}, { first: pageSize });
  const totalMs = performance.now() - start;
  await s.close();
  return { openMs, totalMs, count: page.edges.length };
}
