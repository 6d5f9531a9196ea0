/**
 * What a page of a user's app loads from Cairn, in gzip bytes, split into the page's code,
 * the worker's code and SQLite's WASM, and the budget they are held to.
 */
import { readFileSync } from 'node:fs';
import { basename, join } from 'node:path';
import { gzipSync } from 'node:zlib';

/** Gzip bytes of what one page load fetched. */
export interface LoadSizes {
  page: number;
  worker: number;
  wasm: number;
}

/** The budget: sizes may grow by at most this fraction before the check fails. */
export const SIZE_TOLERANCE = 0.1;

/** The budget, as committed. */
export function sizeBudget(): LoadSizes {
  return JSON.parse(readFileSync(new URL('./size-budget.json', import.meta.url), 'utf8')) as LoadSizes;
}

/**
 * Sums the gzip size of every script and WASM file fetched from a Vite build's `dist/`.
 * In a Vite build the worker's chunks are named after Cairn's worker modules
 * (`default-<hash>.js`, and `leader-<hash>.js` where the worker code-splits); everything
 * else is the page's.
 */
export function loadSizes(dist: string, paths: readonly string[]): LoadSizes {
  const sizes: LoadSizes = { page: 0, worker: 0, wasm: 0 };
  for (const path of new Set(paths)) {
    const name = basename(path);
    const bytes = gzipSync(readFileSync(join(dist, path)), { level: 9 }).length;
    if (name.endsWith('.wasm')) sizes.wasm += bytes;
    else if (/^(default|leader)-[\w-]+\.js$/.test(name)) sizes.worker += bytes;
    else if (name.endsWith('.js')) sizes.page += bytes;
  }
  return sizes;
}

/** The gzip bytes of each of `paths` (relative to a build's folder), and their sum. */
export function gzipSizes(dist: string, paths: readonly string[]): { files: Record<string, number>; total: number } {
  const files: Record<string, number> = {};
  for (const path of new Set(paths)) files[path] = gzipSync(readFileSync(join(dist, path)), { level: 9 }).length;
  return { files, total: Object.values(files).reduce((a, b) => a + b, 0) };
}
