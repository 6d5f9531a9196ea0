/**
 * The bench runner: builds the bench page, serves it on 127.0.0.1, runs the sections asked
 * for in real browsers, and writes the JSON, Markdown and SVG results.
 */
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { cpus, loadavg, release, totalmem } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { build, preview } from 'vite';
import { openChromium, openFirefox, type BenchBrowser } from './browsers.ts';
import type { Results, Section } from './figures.ts';
import { FULL, QUICK, type Sizes } from './plan.ts';
import { renderChart, renderMarkdown } from './report.ts';
import { runBrowserSection, runOpenSection, runPragmaSection } from './workloads.ts';

/** What one bench invocation runs and where it writes. */
export interface BenchOptions {
  mode: string;
  sizes: Sizes;
  chromium: boolean;
  firefox: boolean;
  pragmas: boolean;
  /** The open-time study: a store of 1,000,000 events on OPFS and on IndexedDB. */
  open?: boolean;
  /** The results directory. */
  outDir: string;
  /** File names: `<base>.json`, `<base>.md`, and `chart` for the SVG. */
  base: string;
  chart: string;
  log: (line: string) => void;
}

/** The section keys of the results file. */
export const SECTION_KEYS = { chromium: 'chromium', firefox: 'firefox', pragmas: 'pragmas', open: 'open' } as const;

/** Runs the bench; sections it did not run are kept from the previous results file. */
export async function runBench(options: BenchOptions): Promise<Results> {
  const { log } = options;
  const started = performance.now();
  const configFile = fileURLToPath(new URL('./app/vite.config.ts', import.meta.url));
  log('Building the bench page…');
  await build({ configFile });
  const server = await preview({ configFile, preview: { host: '127.0.0.1', port: 0, strictPort: false } });
  const address = server.httpServer.address();
  if (address === null || typeof address === 'string') throw new Error('The bench server has no port');
  const url = `http://127.0.0.1:${address.port}/`;

  const previous = readPrevious(join(options.outDir, `${options.base}.json`));
  const sections: Record<string, Section> = { ...previous?.sections };
  const failures: string[] = [];
  let markdown = '';
  // Results are written after every section, so a later failure loses nothing measured.
  const save = (key: string, section: Section): void => {
    sections[key] = section;
    const ordered: Record<string, Section> = {};
    for (const k of [SECTION_KEYS.chromium, SECTION_KEYS.open, SECTION_KEYS.pragmas, SECTION_KEYS.firefox]) {
      if (sections[k] !== undefined) ordered[k] = sections[k];
    }
    const results: Results = { machine: machine(), sections: ordered };
    mkdirSync(options.outDir, { recursive: true });
    writeFileSync(join(options.outDir, `${options.base}.json`), `${JSON.stringify(results, null, 2)}\n`);
    markdown = renderMarkdown(results, options.chart);
    writeFileSync(join(options.outDir, `${options.base}.md`), markdown);
    writeFileSync(join(options.outDir, options.chart), renderChart(results));
  };
  // Runs one section; other work on the machine moves every figure, so each section says
  // how busy the machine was around it. A failed section is reported and the rest still run.
  const runSection = async (key: string, run: () => Promise<Section>): Promise<void> => {
    const before = loadavg()[0]!;
    try {
      const section = await run();
      section.notes.push(
        `Load average (1 min) on this ${cpus().length}-core machine: ${before.toFixed(1)} when the section started, ${loadavg()[0]!.toFixed(1)} when it ended.`,
      );
      save(key, section);
    } catch (e) {
      failures.push(`${key}: ${e instanceof Error ? (e.stack ?? e.message) : String(e)}`);
      log(`Section ${key} failed: ${String(e)}`);
    }
  };
  try {
    if (options.chromium || options.pragmas || options.open) {
      const browser = await openChromium(url);
      try {
        if (options.chromium) {
          await runSection(SECTION_KEYS.chromium, async () => {
            log(`${browser.version}: W1–W9 against raw, cairn, cairn-idb and the peers idb, dexie, pglite (${options.mode})`);
            const section = await runBrowserSection(browser, options.sizes, {
              title: `Chromium: ${browser.version.replace('Chromium ', '')}`, mode: options.mode, firefox: false, log,
            });
            section.notes.push(...chromiumNotes(browser));
            return section;
          });
        }
        if (options.open) {
          await runSection(SECTION_KEYS.open, () => {
            log(`${browser.version}: open to first read of ${FULL.w6Stored} events, on OPFS and on IndexedDB`);
            return runOpenSection(browser, FULL, options.mode, log);
          });
        }
        if (options.pragmas) {
          await runSection(SECTION_KEYS.pragmas, () => {
            log(`${browser.version}: PRAGMA study`);
            return runPragmaSection(browser, options.sizes, options.mode, log);
          });
        }
      } finally {
        await browser.close();
      }
    }
    if (options.firefox) {
      await runSection(SECTION_KEYS.firefox, async () => {
        const browser: BenchBrowser = await openFirefox(url);
        try {
          log(`${browser.version}: W1–W4 and W7 against raw, cairn and the peers idb, dexie (${options.mode})`);
          const section = await runBrowserSection(browser, options.sizes, {
            title: `Firefox ESR: ${browser.version.replace('Firefox ', '')} (W1–W4 and W7, no targets)`, mode: options.mode, firefox: true, log,
          });
          section.notes.push('Driven by puppeteer-core over WebDriver BiDi; jobs are polled from Node about once a second.');
          return section;
        } finally {
          await browser.close();
        }
      });
    }
  } finally {
    await new Promise<void>((resolve) => server.httpServer.close(() => resolve()));
  }

  log(markdown);
  log(`Done in ${((performance.now() - started) / 1000).toFixed(0)} s; wrote ${options.outDir}/${options.base}.{json,md} and ${options.chart}`);
  if (failures.length > 0) throw new Error(`Bench sections failed:\n${failures.join('\n')}`);
  return readPrevious(join(options.outDir, `${options.base}.json`))!;
}

/** Parses `npm run bench -- [--quick] [--firefox] [--pragmas] [--open] [--all]`. */
export function parseArgs(argv: readonly string[]): BenchOptions {
  const known = new Set(['--quick', '--firefox', '--pragmas', '--open', '--all']);
  for (const arg of argv) if (!known.has(arg)) throw new Error(`Unknown option ${arg}; use --quick, --firefox, --pragmas, --open or --all`);
  const has = (flag: string): boolean => argv.includes(flag);
  const quick = has('--quick');
  const all = has('--all');
  // --pragmas alone is the study only; --all is everything in one run.
  const pragmasOnly = (has('--pragmas') || has('--open')) && !all && !has('--firefox');
  return {
    mode: quick ? 'quick' : 'full',
    sizes: quick ? QUICK : FULL,
    chromium: !pragmasOnly,
    firefox: all || has('--firefox'),
    pragmas: all || has('--pragmas'),
    // Full size always: the point is the 1,000,000-event store.
    open: all || has('--open'),
    outDir: fileURLToPath(new URL('./results', import.meta.url)),
    // A quick run never overwrites the full results.
    base: quick ? 'quick' : 'latest',
    chart: quick ? 'quick-ratios.svg' : 'ratios.svg',
    log: (line) => console.log(line),
  };
}

function chromiumNotes(browser: BenchBrowser): string[] {
  return [
    `${browser.version}, headless, persistent profile, flags as in test/support/chromium.ts.`,
    'raw and cairn use opfs-sahpool with Cairn’s PRAGMAs (WAL, locking_mode=EXCLUSIVE, synchronous=FULL); idb and dexie use the browser’s default transaction durability, which is weaker than synchronous=FULL; pglite runs on OPFS (opfs-ahp) in its own worker with PGlite’s default durability (no relaxedDurability).',
    'raw is the ceiling: Cairn’s schema, PRAGMAs and VFS with every technique Cairn uses (json_each bulk inserts, packed page reads, kept prepared statements, QPSG, the pooled-random ULID factory), versions counted in memory, timed inside its worker. W2 raw groups the appends issued at once into one transaction by hand; its single-commit figure is the same appends each in its own transaction.',
    'W2 idb, dexie and pglite: one transaction per append, all issued at once. W4 idb reads pages with getAll over the key range, dexie with where(position).above().limit().toArray(), pglite with SELECT … WHERE position > $1 ORDER BY position LIMIT $2.',
    'W6 runs on raw, cairn, cairn-idb and idb only (dexie and pglite are left out of it, for time).',
    'W7: one append at a time, each awaited until the other tab’s handler ran; handler times are corrected by the tabs’ clock offset (BroadcastChannel ping-pong). W8: delivery latency is from issuing an append (all W2 appends are issued at once) to the subscription handler. W9: CDP HeapProfiler.collectGarbage then Runtime.getHeapUsage on the page (which still holds the events it read) and on the leader worker’s target; SQLite’s WASM memory is not part of the JS heap.',
    'W5 is the median of several reads per run; the stream is spread over the log in slices between the W3 calls.',
    'Open: a new worker each time, from `new Worker` to the first page of 100 events in the page. raw is the floor: a bare worker that loads sqlite3, opens the same way and reads; its phases are shown as “at ms” from the start.',
  ];
}

function readPrevious(file: string): Results | undefined {
  if (!existsSync(file)) return undefined;
  try {
    return JSON.parse(readFileSync(file, 'utf8')) as Results;
  } catch {
    return undefined;
  }
}

function machine(): Results['machine'] {
  let os = `Linux ${release()}`;
  try {
    const pretty = /^PRETTY_NAME="?([^"\n]*)"?/m.exec(readFileSync('/etc/os-release', 'utf8'));
    if (pretty) os = `${pretty[1]}, kernel ${release()}`;
  } catch {
    // Not Linux, or no os-release: the kernel release will do.
  }
  return {
    cores: cpus().length,
    cpu: cpus()[0]?.model.trim() ?? 'unknown CPU',
    os,
    memoryGiB: Math.round((totalmem() / 2 ** 30) * 10) / 10,
    node: process.version,
  };
}
