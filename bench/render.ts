/**
 * Re-renders `latest.md` and `ratios.svg` from `latest.json` without measuring anything, for
 * after a change to `report.ts`: `node bench/run.mjs bench/render.ts`.
 */
import { readFileSync, writeFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import type { Results } from './figures.ts';
import { renderChart, renderMarkdown } from './report.ts';

const dir = fileURLToPath(new URL('./results/', import.meta.url));
const results = JSON.parse(readFileSync(`${dir}latest.json`, 'utf8')) as Results;
writeFileSync(`${dir}latest.md`, renderMarkdown(results, 'ratios.svg'));
writeFileSync(`${dir}ratios.svg`, renderChart(results));
console.log(`Rendered ${dir}latest.md and ratios.svg from latest.json`);
