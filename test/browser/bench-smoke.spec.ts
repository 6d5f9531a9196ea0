import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { runBench } from '../../bench/main.ts';
import { SMOKE } from '../../bench/plan.ts';
import { expect, test } from '../fixtures.ts';

// The bench at tiny sizes: checks that every figure is produced and is a finite positive
// number. Never its size: numbers belong in `npm run bench`, not in a timed test.
let outDir: string;
test.beforeAll(() => {
  outDir = mkdtempSync(join(tmpdir(), 'cairn-bench-smoke-'));
});
test.afterAll(() => rmSync(outDir, { recursive: true, force: true }));

test('produces every bench figure and ratio in Chromium, and writes the JSON, Markdown and SVG', async () => {
  test.setTimeout(120_000);
  const results = await runBench({
    mode: 'smoke', sizes: SMOKE, chromium: true, firefox: false, pragmas: true,
    outDir, base: 'smoke', chart: 'smoke.svg', log: () => {},
  });
  const chromium = results.sections.chromium!;
  const measured = new Set(chromium.figures.map((f) => `${f.workload} ${f.target}`));
  for (const workload of ['W1', 'W2', 'W3', 'W4', 'W5']) {
    for (const target of ['raw', 'cairn', 'cairn-idb', 'idb', 'dexie', 'pglite']) expect(measured).toContain(`${workload} ${target}`);
  }
  for (const target of ['raw', 'cairn', 'idb']) expect(measured).toContain(`W6 ${target}`);
  expect(measured).toContain('Open cairn');
  for (const workload of ['W7', 'W8', 'W9']) expect(measured).toContain(`${workload} cairn`);
  expect(chromium.ratios.filter((r) => r.goal !== undefined)).toHaveLength(8);
  expect(results.sections.pragmas!.figures.length).toBeGreaterThanOrEqual(16);
  for (const section of [chromium, results.sections.pragmas!]) {
    for (const f of [...section.figures, ...section.ratios]) {
      const label = 'workload' in f ? `${f.workload} ${f.metric} ${f.target}` : f.label;
      for (const v of f.runs) expect(Number.isFinite(v) && v > 0, `${label}: ${v}`).toBe(true);
    }
  }
  for (const file of ['smoke.json', 'smoke.md', 'smoke.svg']) expect(existsSync(join(outDir, file))).toBe(true);
});
