/**
 * How big each workload is in each mode, and which ratios the issue sets targets on.
 */
import type { RatioSpec } from './figures.ts';

/** The sizes of one bench mode. */
export interface Sizes {
  /** Runs of every workload; each figure is the median of these. */
  runs: number;
  /** W1: single awaited appends. */
  w1: number;
  /** W2: appends issued at once, over `w2Streams` streams. */
  w2: number;
  w2Streams: number;
  /** W3: events appended in calls of `batch`. */
  w3: number;
  batch: number;
  /** W4: events read from the global log in pages of `page`. */
  w4: number;
  page: number;
  /** W5: the length of the stream read, and how many reads make one run's figure (their median). */
  w5Stream: number;
  w5Repeats: number;
  /** W6: events stored before W1, W3 and W5 run again; appended in calls of `fillBatch`. */
  w6Stored: number;
  fillBatch: number;
  /** Cold opens of each store (empty and large) for open-to-first-read. */
  openSamples: number;
  /** PRAGMA study: single commits and rows in calls of `batch`, per configuration. */
  pragmaW1: number;
  pragmaW3: number;
  /** W7: timed appends per direction (after `w7Warmup` untimed ones). */
  w7: number;
  w7Warmup: number;
  /** W8: subscriptions and watches open in the appending tab while W2 runs. */
  w8Subscriptions: number;
  w8Watches: number;
  /** W9: events in the store opened, and how many of them are read into the page. */
  w9Stored: number;
  w9Read: number;
}

/** The sizes. */
export const FULL: Sizes = {
  runs: 3,
  w1: 2_000,
  w2: 10_000,
  w2Streams: 100,
  w3: 100_000,
  batch: 1_000,
  w4: 100_000,
  page: 1_000,
  w5Stream: 1_000,
  w5Repeats: 5,
  w6Stored: 1_000_000,
  fillBatch: 10_000,
  openSamples: 3,
  pragmaW1: 2_000,
  pragmaW3: 100_000,
  w7: 300,
  w7Warmup: 20,
  w8Subscriptions: 100,
  w8Watches: 20,
  w9Stored: 1_000_000,
  w9Read: 100_000,
};

/** A small version of every workload, for a look in under two minutes. */
export const QUICK: Sizes = {
  runs: 3,
  w1: 200,
  w2: 1_000,
  w2Streams: 100,
  w3: 10_000,
  batch: 1_000,
  w4: 10_000,
  page: 1_000,
  w5Stream: 100,
  w5Repeats: 3,
  w6Stored: 30_000,
  fillBatch: 10_000,
  openSamples: 2,
  pragmaW1: 200,
  pragmaW3: 10_000,
  w7: 100,
  w7Warmup: 20,
  w8Subscriptions: 100,
  w8Watches: 20,
  // Smaller than the 1,000,000 and 100,000: the report's W9 title says so.
  w9Stored: 100_000,
  w9Read: 10_000,
};

/** Tiny sizes for the smoke test: every figure is produced, none means anything. */
export const SMOKE: Sizes = {
  runs: 3,
  w1: 20,
  // PGlite commits one append at a time at ~15–40 per second here: keep W2 small.
  w2: 50,
  w2Streams: 10,
  w3: 2_000,
  batch: 200,
  w4: 2_000,
  page: 200,
  w5Stream: 40,
  w5Repeats: 2,
  w6Stored: 4_000,
  fillBatch: 1_000,
  openSamples: 1,
  pragmaW1: 20,
  pragmaW3: 2_000,
  w7: 10,
  w7Warmup: 2,
  w8Subscriptions: 10,
  w8Watches: 2,
  w9Stored: 2_000,
  w9Read: 1_000,
};

const ev = (workload: string, target: string, metric = 'events/s') => ({ workload, metric, target });

/** The peers a user would pick instead of Cairn, each used as its documentation says. */
export const PEERS = ['idb', 'dexie', 'pglite'] as const;

/** Cairn ÷ each peer on W1–W5 (W5 as speed), no goals: where Cairn does not lead, bench/README.md says why. */
function peerRatios(peers: readonly string[], workloads: readonly string[]): RatioSpec[] {
  const out: RatioSpec[] = [];
  for (const w of workloads) {
    for (const p of peers) {
      const metric = w === 'W5' ? 'ms' : 'events/s';
      out.push({ id: `${w}/${p}`, label: `${w} ${WORKLOAD_NAMES[w]}: cairn ÷ ${p}`, num: ev(w, 'cairn', metric), den: ev(w, p, metric), speed: w === 'W5' });
    }
  }
  return out;
}

/** Short names of the workloads, for ratio labels. */
export const WORKLOAD_NAMES: Record<string, string> = {
  W1: 'single appends',
  W2: 'concurrent appends',
  W3: 'batched appends',
  W4: 'paged global read',
  W5: 'readStream',
};

/** The ratios of the Chromium run; those with a `goal` are the targets. */
export const CHROMIUM_RATIOS: readonly RatioSpec[] = [
  { id: 'W1/raw', label: 'W1 single appends: cairn ÷ raw', num: ev('W1', 'cairn'), den: ev('W1', 'raw'), goal: { op: '>=', value: 0.8 } },
  { id: 'W2/W3', label: 'W2 concurrent appends ÷ W3 batched appends: cairn', num: ev('W2', 'cairn'), den: ev('W3', 'cairn'), goal: { op: '>=', value: 0.5 } },
  { id: 'W2/raw', label: 'W2 concurrent appends: cairn ÷ raw grouped by hand', num: ev('W2', 'cairn'), den: ev('W2', 'raw') },
  { id: 'W2/raw-single', label: 'W2 concurrent appends: cairn ÷ raw single commits', num: ev('W2', 'cairn'), den: ev('W2', 'raw', 'single commits events/s') },
  { id: 'W3/raw', label: 'W3 batched appends: cairn ÷ raw', num: ev('W3', 'cairn'), den: ev('W3', 'raw'), goal: { op: '>=', value: 0.9 } },
  { id: 'W4/raw', label: 'W4 paged global read into the page: cairn ÷ raw in-worker', num: ev('W4', 'cairn'), den: ev('W4', 'raw'), goal: { op: '>=', value: 0.9 } },
  { id: 'W5/raw', label: 'W5 readStream speed: cairn ÷ raw', num: ev('W5', 'cairn', 'ms'), den: ev('W5', 'raw', 'ms'), speed: true },
  ...peerRatios(PEERS, ['W1', 'W2', 'W3', 'W4', 'W5']),
  ...(['raw', 'cairn', 'idb'] as const).flatMap((t): RatioSpec[] => {
    const goal = t === 'cairn' ? { goal: { op: '>=' as const, value: 0.8 } } : {};
    return [
      { id: `W6·W1/${t}`, label: `W6 large store ÷ small, W1 events/s: ${t}`, num: ev('W6', t, 'W1 events/s'), den: ev('W1', t), ...goal },
      { id: `W6·W3/${t}`, label: `W6 large store ÷ small, W3 events/s: ${t}`, num: ev('W6', t, 'W3 events/s'), den: ev('W3', t), ...goal },
      { id: `W6·W5/${t}`, label: `W6 large store ÷ small, W5 readStream speed: ${t}`, num: ev('W6', t, 'W5 ms'), den: ev('W5', t, 'ms'), speed: true, ...goal },
    ];
  }),
  { id: 'W1/cairn-idb', label: 'W1 single appends: cairn on IndexedDB ÷ cairn on OPFS', num: ev('W1', 'cairn-idb'), den: ev('W1', 'cairn') },
  { id: 'W2/cairn-idb', label: 'W2 concurrent appends: cairn on IndexedDB ÷ cairn on OPFS', num: ev('W2', 'cairn-idb'), den: ev('W2', 'cairn') },
  { id: 'W3/cairn-idb', label: 'W3 batched appends: cairn on IndexedDB ÷ cairn on OPFS', num: ev('W3', 'cairn-idb'), den: ev('W3', 'cairn') },
  { id: 'W4/cairn-idb', label: 'W4 paged global read: cairn on IndexedDB ÷ cairn on OPFS', num: ev('W4', 'cairn-idb'), den: ev('W4', 'cairn') },
  { id: 'W1/cairn-idb÷idb', label: 'W1 single appends: cairn on IndexedDB ÷ idb', num: ev('W1', 'cairn-idb'), den: ev('W1', 'idb') },
  { id: 'W3/cairn-idb÷idb', label: 'W3 batched appends: cairn on IndexedDB ÷ idb', num: ev('W3', 'cairn-idb'), den: ev('W3', 'idb') },
  { id: 'Open/cairn', label: 'Open to first read: large store ÷ empty store (cairn)', num: ev('Open', 'cairn', 'large store ms'), den: ev('Open', 'cairn', 'empty store ms'), goal: { op: '<=', value: 1.2 } },
  { id: 'Open/cairn-idb', label: 'Open to first read: large store ÷ empty store (cairn on IndexedDB)', num: ev('Open', 'cairn-idb', 'large store ms'), den: ev('Open', 'cairn-idb', 'empty store ms') },
  { id: 'Open/raw', label: 'Open to first read: large store ÷ empty store (raw floor)', num: ev('Open', 'raw', 'large store ms'), den: ev('Open', 'raw', 'empty store ms') },
  { id: 'W8/W2', label: 'W8 appends/s with subscriptions and watches open ÷ with none', num: ev('W8', 'cairn', 'events/s, subscriptions and watches open'), den: ev('W8', 'cairn', 'events/s, none open') },
  { id: 'Open/floor', label: 'Open to first read, empty store: cairn ÷ raw floor', num: ev('Open', 'cairn', 'empty store ms'), den: ev('Open', 'raw', 'empty store ms') },
];

/** The ratios of the Firefox run: against raw and the IndexedDB peers, no targets. */
export const FIREFOX_RATIOS: readonly RatioSpec[] = [
  ...CHROMIUM_RATIOS.filter((r) => /^W[1-4]\/raw$/.test(r.id) || r.id === 'W2/W3').map(({ goal: _goal, ...rest }) => rest),
  ...peerRatios(['idb', 'dexie'], ['W1', 'W2', 'W3', 'W4']),
];
