/**
 * The workloads, as sequences of jobs sent to a bench page, and the figures they record.
 *
 * - Within a run, each workload runs against every target back to back, in an order that
 *   rotates from run to run, so a ratio compares figures taken moments apart and no
 *   target always goes first.
 * - Every run starts on fresh stores, and deletes them at its end.
 * - Adding a workload (W7, cross-tab subscription latency, once subscriptions exist) is
 *   one entry in `SMALL_WORKLOADS` and one job kind in `jobs.ts`.
 */
import type { BenchBrowser } from './browsers.ts';
import { FigureSet, type Section } from './figures.ts';
import { FIREFOX_TARGETS, SCALE_TARGETS, TARGETS, type Interleave, type PragmaSettings, type TargetName } from './jobs.ts';
import { CHROMIUM_RATIOS, FIREFOX_RATIOS, type Sizes } from './plan.ts';
import { median, percentile } from './stats.ts';

/** The stream W5 reads; spread over the log by appends between the timed calls. */
const TARGET_STREAM = 'target-1';

/** What a workload needs to run one target once. */
interface RunContext {
  browser: BenchBrowser;
  sizes: Sizes;
  figures: FigureSet;
  run: number;
  /** The store of this workload's kind for this target and run. */
  store: (target: TargetName, kind: string) => string;
}

/** A workload over the small stores. */
interface Workload {
  id: string;
  /** The browsers it runs in. */
  firefox: boolean;
  run(ctx: RunContext, target: TargetName): Promise<void>;
}

/** W1–W5, in the order they run; W4 and W5 read what W3 wrote. */
export const SMALL_WORKLOADS: readonly Workload[] = [
  {
    id: 'W1',
    firefox: true,
    async run({ browser, sizes, figures, run, store }, target) {
      const r = await browser.run({ kind: 'singleAppends', target, args: { store: store(target, 'w1'), stream: 'w1', count: sizes.w1 } });
      recordSingles(figures, 'W1', '', target, run, sizes.w1, r);
    },
  },
  {
    id: 'W2',
    firefox: true,
    async run({ browser, sizes, figures, run, store }, target) {
      const args = { store: store(target, 'w2'), streamPrefix: 'w2', streams: sizes.w2Streams, count: sizes.w2 };
      const r = await browser.run({ kind: 'concurrentAppends', target, args });
      figures.add({ workload: 'W2', metric: 'events/s', target }, 'higher', run, rate(sizes.w2, r.totalMs));
      if (r.singleCommitsMs !== undefined) {
        figures.add({ workload: 'W2', metric: 'single commits events/s', target }, 'higher', run, rate(sizes.w2, r.singleCommitsMs));
      }
    },
  },
  {
    id: 'W3',
    firefox: true,
    async run({ browser, sizes, figures, run, store }, target) {
      const args = {
        store: store(target, 'w3'), streamPrefix: 'w3', count: sizes.w3, batch: sizes.batch,
        interleave: interleave(sizes.w5Stream, Math.ceil(sizes.w3 / sizes.batch)),
      };
      const r = await browser.run({ kind: 'batchAppends', target, args });
      figures.add({ workload: 'W3', metric: 'events/s', target }, 'higher', run, rate(sizes.w3, r.totalMs));
    },
  },
  {
    id: 'W4',
    firefox: true,
    async run({ browser, sizes, figures, run, store }, target) {
      const r = await browser.run({ kind: 'readAll', target, args: { store: store(target, 'w3'), count: sizes.w4, pageSize: sizes.page } });
      expectCount('W4', target, r.count, sizes.w4);
      figures.add({ workload: 'W4', metric: 'events/s', target }, 'higher', run, rate(r.count, r.totalMs));
    },
  },
  {
    id: 'W5',
    firefox: false,
    async run({ browser, sizes, figures, run, store }, target) {
      const args = { store: store(target, 'w3'), stream: TARGET_STREAM, repeats: sizes.w5Repeats };
      const r = await browser.run({ kind: 'readStream', target, args });
      expectCount('W5', target, r.count, sizes.w5Stream);
      figures.add({ workload: 'W5', metric: 'ms', target }, 'lower', run, median(r.samplesMs));
    },
  },
];

/** Options of a browser section. */
export interface SectionOptions {
  title: string;
  mode: string;
  /** Firefox runs W1–W4 only. */
  firefox: boolean;
  log: (line: string) => void;
}

/** Runs the workloads in one browser and summarises them. */
export async function runBrowserSection(browser: BenchBrowser, sizes: Sizes, options: SectionOptions): Promise<Section> {
  const figures = new FigureSet();
  const stamp = Date.now().toString(36);
  const workloads = SMALL_WORKLOADS.filter((w) => !options.firefox || w.firefox);
  for (let run = 0; run < sizes.runs; run++) {
    const order = rotate(chosen(options.firefox ? FIREFOX_TARGETS : TARGETS), run);
    const store = (target: TargetName, kind: string): string => `bench-${stamp}-${target}-${kind}-r${run}`;
    for (const workload of workloads) {
      for (const target of order) {
        const t = performance.now();
        await workload.run({ browser, sizes, figures, run, store }, target);
        options.log(`  run ${run + 1}/${sizes.runs} ${workload.id} ${target}: ${((performance.now() - t) / 1000).toFixed(1)} s`);
      }
    }
    for (const target of order) {
      for (const kind of ['w1', 'w2', 'w3']) await browser.run({ kind: 'drop', target, args: { store: store(target, kind) } });
    }
  }
  if (!options.firefox) await runScale(browser, sizes, figures, stamp, options.log);
  const notes = chosen(['cairn']).length > 0 ? await runLive(browser, sizes, figures, stamp, options) : [];
  return {
    title: options.title,
    browser: browser.version,
    date: new Date().toISOString(),
    mode: options.mode,
    sizes: { ...sizes },
    figures: figures.figures(),
    ratios: figures.ratios(options.firefox ? FIREFOX_RATIOS : CHROMIUM_RATIOS),
    notes,
  };
}

/**
 * W6: a large store per target, filled untimed, then W1, W3 and W5 again on it; and the
 * time from opening a store to its first page, large against empty.
 */
async function runScale(browser: BenchBrowser, sizes: Sizes, figures: FigureSet, stamp: string, log: (l: string) => void): Promise<void> {
  const large = (target: TargetName): string => `bench-${stamp}-${target}-large`;
  const empty = (target: TargetName): string => `bench-${stamp}-${target}-empty`;
  for (const target of chosen(SCALE_TARGETS)) {
    const t = performance.now();
    const args = {
      store: large(target), streamPrefix: 'fill', count: sizes.w6Stored, batch: sizes.fillBatch,
      interleave: interleave(sizes.w5Stream, Math.ceil(sizes.w6Stored / sizes.fillBatch)),
    };
    const r = await browser.run({ kind: 'batchAppends', target, args });
    figures.add({ workload: 'W6', metric: 'fill events/s (untimed setup)', target }, 'higher', 0, rate(sizes.w6Stored, r.totalMs));
    log(`  W6 fill ${target}: ${sizes.w6Stored} events in ${((performance.now() - t) / 1000).toFixed(1)} s`);
  }
  for (let run = 0; run < sizes.runs; run++) {
    for (const target of rotate(chosen(SCALE_TARGETS), run)) {
      const t = performance.now();
      const store = large(target);
      const w1 = await browser.run({ kind: 'singleAppends', target, args: { store, stream: `w6w1-r${run}`, count: sizes.w1 } });
      recordSingles(figures, 'W6', 'W1 ', target, run, sizes.w1, w1);
      const w3 = await browser.run({ kind: 'batchAppends', target, args: { store, streamPrefix: `w6w3-r${run}`, count: sizes.w3, batch: sizes.batch } });
      figures.add({ workload: 'W6', metric: 'W3 events/s', target }, 'higher', run, rate(sizes.w3, w3.totalMs));
      const w5 = await browser.run({ kind: 'readStream', target, args: { store, stream: TARGET_STREAM, repeats: sizes.w5Repeats } });
      expectCount('W6 W5', target, w5.count, sizes.w5Stream);
      figures.add({ workload: 'W6', metric: 'W5 ms', target }, 'lower', run, median(w5.samplesMs));
      log(`  run ${run + 1}/${sizes.runs} W6 ${target}: ${((performance.now() - t) / 1000).toFixed(1)} s`);
    }
  }

  // Open to first read: only Cairn has the target (on OPFS and on IndexedDB); raw shows the
  // floor (a bare worker with sqlite3 and the same open on OPFS) and where that time goes.
  const coldTargets = (['cairn', 'cairn-idb', 'raw'] as const).filter((t) => chosen(SCALE_TARGETS).includes(t));
  for (const target of coldTargets) {
    await browser.run({ kind: 'close', target, args: { store: large(target) } });
    // Creates the empty store (schema and all); this first open is not measured.
    await browser.run({ kind: 'coldOpen', args: { target, store: empty(target), pageSize: 100 } });
    await browser.run({ kind: 'coldOpen', args: { target, store: large(target), pageSize: 100 } });
  }
  for (let sample = 0; sample < sizes.openSamples; sample++) {
    for (const target of coldTargets) {
      for (const [label, store] of [['empty store ms', empty(target)], ['large store ms', large(target)]] as const) {
        const r = await browser.run({ kind: 'coldOpen', args: { target, store, pageSize: 100 } });
        figures.add({ workload: 'Open', metric: label, target }, 'lower', sample, r.totalMs);
        figures.add({ workload: 'Open', metric: label.replace('ms', 'open only ms'), target }, 'lower', sample, r.openMs);
        for (const [phase, ms] of Object.entries(r.phases ?? {})) {
          figures.add({ workload: 'Open', metric: `${label.replace(' ms', '')}: ${phase} at ms`, target }, 'lower', sample, ms);
        }
      }
    }
  }
  log(`  open to first read: ${sizes.openSamples} samples each`);
  for (const target of chosen(SCALE_TARGETS)) {
    for (const store of [large(target), empty(target)]) await browser.run({ kind: 'drop', target, args: { store } });
  }
}

/** The three ways an append reaches a subscription in W7: the appending tab, then the subscribing one. */
const W7_PATHS = [
  { stream: 'to-follower', label: 'leader tab → follower tab' },
  { stream: 'to-leader', label: 'follower tab → leader tab' },
  { stream: 'same-tab', label: 'same tab (leader)' },
] as const;

/**
 * W7–W9, on Cairn on OPFS:
 * - W7: an append in one tab to the handler of a subscription in another tab, both ways
 *   (and in the same tab), p50/p99, one append at a time;
 * - W8: W2 with `w8Subscriptions` subscriptions and `w8Watches` watches open in the appending
 *   tab, against W2 with none open (appends/s), and the delivery latency to the subscriptions;
 * - W9 (Chromium): the JS heaps of the page and the leader worker after opening a store of
 *   `w9Stored` events and reading `w9Read` of them, each after a forced GC.
 */
async function runLive(browser: BenchBrowser, sizes: Sizes, figures: FigureSet, stamp: string, options: SectionOptions): Promise<string[]> {
  const { log } = options;
  const roles: string[] = [];
  for (let run = 0; run < sizes.runs; run++) {
    const t = performance.now();
    const store = `bench-${stamp}-w7-r${run}`;
    // The first tab opens the store first, so it leads; the second follows.
    await browser.run({ kind: 'liveSubscribe', args: { store, stream: 'same-tab' } });
    await browser.run({ kind: 'liveSubscribe', args: { store, stream: 'to-leader' } });
    const follower = await browser.openTab();
    try {
      await follower.run({ kind: 'liveSubscribe', args: { store, stream: 'to-follower' } });
      for (const path of rotate(W7_PATHS, run)) {
        const tab = path.stream === 'to-leader' ? follower : browser;
        const r = await tab.run({ kind: 'liveLatency', args: { store, stream: path.stream, count: sizes.w7, warmup: sizes.w7Warmup } });
        if (run === 0) roles.push(`${path.label}: appended in the ${r.role}'s tab`);
        figures.add({ workload: 'W7', metric: `${path.label} p50 ms`, target: 'cairn' }, 'lower', run, percentile(r.latenciesMs, 50));
        figures.add({ workload: 'W7', metric: `${path.label} p99 ms`, target: 'cairn' }, 'lower', run, percentile(r.latenciesMs, 99));
      }
      await follower.run({ kind: 'liveClose', args: { store } });
    } finally {
      await follower.close();
    }
    await browser.run({ kind: 'liveClose', args: { store } });
    await browser.run({ kind: 'drop', target: 'cairn', args: { store } });
    log(`  run ${run + 1}/${sizes.runs} W7: ${((performance.now() - t) / 1000).toFixed(1)} s`);
  }
  const notes = [`W7 roles: ${roles.join('; ')}.`];
  if (options.firefox) return notes;

  for (let run = 0; run < sizes.runs; run++) {
    const t = performance.now();
    const loads = [
      { label: 'none open', subscriptions: 0, watches: 0 },
      { label: 'subscriptions and watches open', subscriptions: sizes.w8Subscriptions, watches: sizes.w8Watches },
    ];
    for (const load of rotate(loads, run)) {
      const store = `bench-${stamp}-w8-${load.subscriptions}-r${run}`;
      const args = { store, streamPrefix: 'w8', streams: sizes.w2Streams, count: sizes.w2, subscriptions: load.subscriptions, watches: load.watches };
      const r = await browser.run({ kind: 'loadedAppends', args });
      figures.add({ workload: 'W8', metric: `events/s, ${load.label}`, target: 'cairn' }, 'higher', run, rate(sizes.w2, r.totalMs));
      if (load.subscriptions > 0) {
        figures.add({ workload: 'W8', metric: 'delivery p50 ms', target: 'cairn' }, 'lower', run, percentile(r.deliveryMs, 50));
        figures.add({ workload: 'W8', metric: 'delivery p99 ms', target: 'cairn' }, 'lower', run, percentile(r.deliveryMs, 99));
        figures.add({ workload: 'W8', metric: 'watch callbacks', target: 'cairn' }, 'higher', run, r.watchCalls);
      }
      await browser.run({ kind: 'liveClose', args: { store } });
      await browser.run({ kind: 'drop', target: 'cairn', args: { store } });
    }
    log(`  run ${run + 1}/${sizes.runs} W8: ${((performance.now() - t) / 1000).toFixed(1)} s`);
  }

  // W9 runs in a tab of its own, so the page heap holds only this store's state.
  const heapTab = await browser.openTab();
  if (heapTab.heaps === undefined) {
    await heapTab.close();
    return notes;
  }
  try {
    const store = `bench-${stamp}-w9`;
    const t = performance.now();
    await browser.run({ kind: 'batchAppends', target: 'cairn', args: { store, streamPrefix: 'w9', count: sizes.w9Stored, batch: sizes.fillBatch } });
    await browser.run({ kind: 'close', target: 'cairn', args: { store } });
    log(`  W9 fill: ${sizes.w9Stored} events in ${((performance.now() - t) / 1000).toFixed(1)} s`);
    const mb = (bytes: number): number => bytes / 2 ** 20;
    for (let run = 0; run < sizes.runs; run++) {
      const r = await heapTab.run({ kind: 'openAndRead', args: { store, count: sizes.w9Read, pageSize: sizes.page } });
      expectCount('W9', 'cairn', r.read, sizes.w9Read);
      const heaps = await heapTab.heaps(`cairn:${store}`);
      figures.add({ workload: 'W9', metric: 'leader worker heap used MB', target: 'cairn' }, 'lower', run, mb(heaps.worker.usedSize));
      figures.add({ workload: 'W9', metric: 'leader worker heap total MB', target: 'cairn' }, 'lower', run, mb(heaps.worker.totalSize));
      figures.add({ workload: 'W9', metric: 'page heap used MB', target: 'cairn' }, 'lower', run, mb(heaps.page.usedSize));
      figures.add({ workload: 'W9', metric: 'page heap total MB', target: 'cairn' }, 'lower', run, mb(heaps.page.totalSize));
      await heapTab.run({ kind: 'liveClose', args: { store } });
    }
    await browser.run({ kind: 'drop', target: 'cairn', args: { store } });
    log(`  W9: ${sizes.runs} opens`);
  } finally {
    await heapTab.close();
  }
  return notes;
}

/**
 * The open-time study: a store of `sizes.w6Stored` events (1,000,000 at full size) on OPFS
 * and on IndexedDB, filled untimed, then cold opens to the first page of 100 events. On
 * IndexedDB opening reads the whole database (the latest image and the changes after it),
 * so its time grows with the store; on OPFS it does not.
 */
export async function runOpenSection(browser: BenchBrowser, sizes: Sizes, mode: string, log: (l: string) => void): Promise<Section> {
  const figures = new FigureSet();
  const stamp = Date.now().toString(36);
  const targets = ['cairn', 'cairn-idb'] as const;
  for (const target of targets) {
    const store = `open-${stamp}-${target}`;
    const t = performance.now();
    const r = await browser.run({ kind: 'batchAppends', target, args: { store, streamPrefix: 'fill', count: sizes.w6Stored, batch: sizes.fillBatch } });
    figures.add({ workload: 'Open', metric: 'fill events/s (untimed setup)', target }, 'higher', 0, rate(sizes.w6Stored, r.totalMs));
    log(`  fill ${target}: ${sizes.w6Stored} events in ${((performance.now() - t) / 1000).toFixed(1)} s`);
    await browser.run({ kind: 'close', target, args: { store } });
    // The first open after the fill may still find an image being written: not measured.
    await browser.run({ kind: 'coldOpen', args: { target, store, pageSize: 100 } });
    for (let sample = 0; sample < sizes.openSamples; sample++) {
      const open = await browser.run({ kind: 'coldOpen', args: { target, store, pageSize: 100 } });
      figures.add({ workload: 'Open', metric: 'ms to first read', target }, 'lower', sample, open.totalMs);
      figures.add({ workload: 'Open', metric: 'open only ms', target }, 'lower', sample, open.openMs);
    }
    await browser.run({ kind: 'drop', target, args: { store } });
    log(`  open ${target}: ${sizes.openSamples} samples`);
  }
  return {
    title: `Open a store of ${sizes.w6Stored.toLocaleString('en-US')} events: OPFS and IndexedDB`,
    browser: browser.version,
    date: new Date().toISOString(),
    mode,
    sizes: { runs: sizes.openSamples, w6Stored: sizes.w6Stored, fillBatch: sizes.fillBatch },
    figures: figures.figures(),
    ratios: [],
    notes: ['A new worker each time, from `new Worker` to the first page of 100 events in the page, after a first untimed open.'],
  };
}

/** The configurations of the PRAGMA study. */
export const PRAGMA_CONFIGS: readonly { label: string; pragmas: PragmaSettings }[] = [
  { label: 'DELETE journal, synchronous=FULL', pragmas: { journalMode: 'DELETE', lockingMode: 'NORMAL', synchronous: 'FULL' } },
  { label: 'TRUNCATE journal, synchronous=FULL', pragmas: { journalMode: 'TRUNCATE', lockingMode: 'NORMAL', synchronous: 'FULL' } },
  { label: 'WAL + EXCLUSIVE, synchronous=FULL', pragmas: { journalMode: 'WAL', lockingMode: 'EXCLUSIVE', synchronous: 'FULL' } },
  { label: 'WAL + EXCLUSIVE, synchronous=NORMAL', pragmas: { journalMode: 'WAL', lockingMode: 'EXCLUSIVE', synchronous: 'NORMAL' } },
];

/** The PRAGMA study: raw single commits and batched rows on sahpool, per journal configuration. */
export async function runPragmaSection(browser: BenchBrowser, sizes: Sizes, mode: string, log: (l: string) => void): Promise<Section> {
  const figures = new FigureSet();
  const stamp = Date.now().toString(36);
  const notes: string[] = [];
  for (let run = 0; run < sizes.runs; run++) {
    for (const i of rotate(PRAGMA_CONFIGS.map((_, k) => k), run)) {
      const { label, pragmas } = PRAGMA_CONFIGS[i]!;
      const store = `pragma-${stamp}-${i}-r${run}`;
      const t = performance.now();
      const inForce = await browser.run({ kind: 'rawOpenWith', args: { store, pragmas } });
      if (JSON.stringify(inForce) !== JSON.stringify(pragmas)) {
        throw new Error(`${label}: asked for ${JSON.stringify(pragmas)}, SQLite reports ${JSON.stringify(inForce)}`);
      }
      const w1 = await browser.run({ kind: 'singleAppends', target: 'raw', args: { store, stream: 'w1', count: sizes.pragmaW1 } });
      recordSingles(figures, 'PRAGMA', 'W1 ', label, run, sizes.pragmaW1, w1, 'commits/s');
      const w3 = await browser.run({ kind: 'batchAppends', target: 'raw', args: { store, streamPrefix: 'w3', count: sizes.pragmaW3, batch: sizes.batch } });
      figures.add({ workload: 'PRAGMA', metric: 'W3 rows/s', target: label }, 'higher', run, rate(sizes.pragmaW3, w3.totalMs));
      await browser.run({ kind: 'drop', target: 'raw', args: { store } });
      log(`  run ${run + 1}/${sizes.runs} ${label}: ${((performance.now() - t) / 1000).toFixed(1)} s`);
    }
  }
  notes.push('Each configuration was checked after opening: SQLite reported the journal mode, locking mode and synchronous level asked for.');
  return {
    title: 'PRAGMA study (raw SQLite-WASM on opfs-sahpool)',
    browser: browser.version,
    date: new Date().toISOString(),
    mode,
    sizes: { runs: sizes.runs, pragmaW1: sizes.pragmaW1, pragmaW3: sizes.pragmaW3, batch: sizes.batch },
    figures: figures.figures(),
    ratios: [],
    notes,
  };
}

function recordSingles(
  figures: FigureSet,
  workload: string,
  prefix: string,
  target: string,
  run: number,
  count: number,
  r: { totalMs: number; latenciesMs: number[] },
  unit = 'events/s',
): void {
  figures.add({ workload, metric: `${prefix}${unit}`, target }, 'higher', run, rate(count, r.totalMs));
  figures.add({ workload, metric: `${prefix}p50 ms`, target }, 'lower', run, percentile(r.latenciesMs, 50));
  figures.add({ workload, metric: `${prefix}p99 ms`, target }, 'lower', run, percentile(r.latenciesMs, 99));
}

function rate(events: number, ms: number): number {
  return events / (ms / 1000);
}

/** Spreads `total` events of the W5 stream over `calls` timed calls. */
function interleave(total: number, calls: number): Interleave {
  return { stream: TARGET_STREAM, perCall: Math.ceil(total / calls), total };
}

function expectCount(what: string, target: string, got: number, want: number): void {
  if (got !== want) throw new Error(`${what} ${target}: read ${got} events, expected ${want}`);
}

/** `BENCH_TARGETS=cairn,pglite` runs only those targets (while developing; a full run uses every one). */
function chosen(targets: readonly TargetName[]): TargetName[] {
  const only = process.env.BENCH_TARGETS?.split(',');
  return only === undefined ? [...targets] : targets.filter((t) => only.includes(t));
}

function rotate<T>(items: readonly T[], by: number): T[] {
  const k = by % items.length;
  return [...items.slice(k), ...items.slice(0, k)];
}
