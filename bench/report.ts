/**
 * Turns results into the Markdown report and the SVG chart of ratios. Both are written by
 * hand: the chart is a handful of rectangles on a log scale, no library needed.
 */
import type { Figure, Ratio, Results, Section } from './figures.ts';

const WORKLOAD_TITLES: Record<string, (s: Record<string, number>) => string> = {
  W1: (s) => `W1: ${n(s.w1)} single appends, each awaited`,
  W2: (s) => `W2: ${n(s.w2)} single appends issued at once over ${n(s.w2Streams)} streams`,
  W3: (s) => `W3: ${n(s.w3)} events in calls of ${n(s.batch)}`,
  W4: (s) => `W4: ${n(s.w4)} events read from the global log in pages of ${n(s.page)}`,
  W5: (s) => `W5: readStream of ${n(s.w5Stream)} events among ${n(s.w3)} others`,
  W6: (s) => `W6: W1, W3, W5 again with ${n(s.w6Stored)} events stored`,
  W7: (s) => `W7: append in one tab → a subscription's handler in another, ${n(s.w7)} appends each way`,
  W8: (s) => `W8: W2 with ${n(s.w8Subscriptions)} subscriptions and ${n(s.w8Watches)} watches open in the appending tab`,
  W9: (s) =>
    `W9: JS heaps after opening a store of ${n(s.w9Stored)} events and reading ${n(s.w9Read)}` +
    (s.w9Stored !== undefined && s.w9Stored < 1_000_000 ? ' (smaller than the issue’s 1,000,000 and 100,000: --quick)' : ''),
  Open: (s) => `Open to first read (${n(100)} events): empty store vs ${n(s.w6Stored)} events`,
};

/** The Markdown report of every section. */
export function renderMarkdown(results: Results, chartFile: string): string {
  const m = results.machine;
  const out: string[] = [
    '# Cairn benchmarks',
    '',
    `Machine: ${m.cores} cores (${m.cpu}), ${m.memoryGiB} GiB RAM, ${m.os}, Node ${m.node}.`,
    '',
    'Each cell is the median of the runs, with [min–max]. Ratios are computed run by run, from figures of',
    'the same run, then summarised the same way. raw times are taken inside its worker (no postMessage);',
    'cairn, cairn-idb and the peers (idb, dexie, pglite) are timed in the page.',
    '',
    `![Ratios](${chartFile})`,
    '',
  ];
  for (const section of Object.values(results.sections)) out.push(...renderSection(section), '');
  return out.join('\n');
}

function renderSection(section: Section): string[] {
  const out = [
    `## ${section.title}`,
    '',
    `${section.browser}; ${section.mode} run of ${section.date.slice(0, 16).replace('T', ' ')} UTC; ${section.sizes.runs} runs.`,
    '',
  ];
  const targets = unique(section.figures.map((f) => f.target));
  const workloads = unique(section.figures.map((f) => f.workload));
  out.push(`| Workload | Figure | ${targets.join(' | ')} |`, `|---|---|${targets.map(() => '---:').join('|')}|`);
  for (const workload of workloads) {
    const title = WORKLOAD_TITLES[workload]?.(section.sizes) ?? workload;
    const metrics = unique(section.figures.filter((f) => f.workload === workload).map((f) => f.metric));
    metrics.forEach((metric, i) => {
      const cells = targets.map((t) => {
        const f = section.figures.find((x) => x.workload === workload && x.metric === metric && x.target === t);
        return f === undefined ? '' : cell(f);
      });
      out.push(`| ${i === 0 ? title : ''} | ${metric} | ${cells.join(' | ')} |`);
    });
  }
  const goals = section.ratios.filter((r) => r.goal !== undefined);
  const others = section.ratios.filter((r) => r.goal === undefined);
  if (goals.length > 0) {
    out.push('', '### Targets', '', '| Target | Ratio | Goal | Met |', '|---|---:|---:|:---:|');
    for (const r of goals) {
      out.push(`| ${r.label} | ${ratioCell(r)} | ${r.goal!.op === '>=' ? '≥' : '≤'} ${r.goal!.value}× | ${r.goal!.met ? 'met' : '**not met**'} |`);
    }
  }
  if (others.length > 0) {
    out.push('', goals.length > 0 ? '### Other ratios (no target)' : '### Ratios (no targets yet)', '', '| Ratio | Value |', '|---|---:|');
    for (const r of others) out.push(`| ${r.label} | ${ratioCell(r)} |`);
  }
  if (section.notes.length > 0) out.push('', ...section.notes.map((note) => `- ${note}`));
  return out;
}

/** The references the chart compares Cairn with, in its order within a workload. */
const CHART_REFERENCES = ['raw', 'W3', 'idb', 'dexie', 'pglite'];

/**
 * The SVG bar chart, per workload (W1–W5): Cairn ÷ raw and Cairn ÷ each peer (and W2 ÷ W3,
 * Cairn's own), on a log scale, with each target's goal marked; Firefox's rows after.
 */
export function renderChart(results: Results): string {
  const rows: { label: string; ratio: Ratio }[] = [];
  for (const section of Object.values(results.sections)) {
    const prefix = section.title.startsWith('Firefox') ? 'Firefox · ' : '';
    const charted = section.ratios
      .map((ratio) => ({ ratio, m: /^(W[1-5])\/(raw|W3|idb|dexie|pglite)$/.exec(ratio.id) }))
      .filter((r) => r.m !== null)
      .sort((a, b) => a.m![1]!.localeCompare(b.m![1]!) || CHART_REFERENCES.indexOf(a.m![2]!) - CHART_REFERENCES.indexOf(b.m![2]!));
    for (const { ratio } of charted) rows.push({ label: prefix + ratio.label, ratio });
  }
  const width = 980;
  const left = 470;
  const right = 30;
  const top = 46;
  const rowH = 22;
  const height = top + rows.length * rowH + 40;
  const lo = Math.log10(0.1);
  const hi = Math.log10(100);
  const x = (v: number): number => left + ((Math.log10(clamp(v, 0.1, 100)) - lo) / (hi - lo)) * (width - left - right);
  const parts: string[] = [
    `<svg xmlns="http://www.w3.org/2000/svg" width="${width}" height="${height}" viewBox="0 0 ${width} ${height}" font-family="system-ui, sans-serif" font-size="12">`,
    `<rect width="${width}" height="${height}" fill="#fff"/>`,
    `<text x="12" y="20" font-size="15" font-weight="600">Cairn ÷ raw and ÷ each peer, per workload (median, whiskers min–max; log scale; above 1 = Cairn faster)</text>`,
    `<text x="12" y="36" fill="#555">green: target met · red: target missed · grey: no target · black tick: the target</text>`,
  ];
  for (const tick of [0.1, 0.2, 0.5, 1, 2, 5, 10, 20, 50, 100]) {
    const tx = x(tick);
    parts.push(
      `<line x1="${tx}" y1="${top - 4}" x2="${tx}" y2="${height - 30}" stroke="${tick === 1 ? '#333' : '#ddd'}" stroke-width="${tick === 1 ? 1.5 : 1}"/>`,
      `<text x="${tx}" y="${height - 14}" text-anchor="middle" fill="#555">${tick}×</text>`,
    );
  }
  rows.forEach(({ label, ratio }, i) => {
    const y = top + i * rowH;
    const colour = ratio.goal === undefined ? '#9aa3ad' : ratio.goal.met ? '#3a9d5d' : '#d0453a';
    parts.push(
      `<text x="${left - 8}" y="${y + 15}" text-anchor="end">${escapeXml(label)}</text>`,
      `<rect x="${x(0.1)}" y="${y + 4}" width="${Math.max(1, x(ratio.median) - x(0.1))}" height="${rowH - 8}" fill="${colour}"/>`,
      `<line x1="${x(ratio.min)}" y1="${y + rowH / 2}" x2="${x(ratio.max)}" y2="${y + rowH / 2}" stroke="#222"/>`,
      `<line x1="${x(ratio.min)}" y1="${y + 7}" x2="${x(ratio.min)}" y2="${y + rowH - 7}" stroke="#222"/>`,
      `<line x1="${x(ratio.max)}" y1="${y + 7}" x2="${x(ratio.max)}" y2="${y + rowH - 7}" stroke="#222"/>`,
      `<text x="${Math.min(width - right - 2, Math.max(x(ratio.max), ratio.goal ? x(ratio.goal.value) : 0) + 6)}" y="${y + 15}" fill="#222">${fmtRatio(ratio.median)}</text>`,
    );
    if (ratio.goal !== undefined) {
      const gx = x(ratio.goal.value);
      parts.push(`<line x1="${gx}" y1="${y + 1}" x2="${gx}" y2="${y + rowH - 1}" stroke="#000" stroke-width="3"/>`);
    }
  });
  parts.push('</svg>', '');
  return parts.join('\n');
}

function cell(f: Figure): string {
  return `${fmt(f.median)} [${fmt(f.min)}–${fmt(f.max)}]`;
}

function ratioCell(r: Ratio): string {
  return `${fmtRatio(r.median)} [${fmtRatio(r.min)}–${fmtRatio(r.max)}]`;
}

function fmt(v: number): string {
  if (!Number.isFinite(v)) return String(v);
  if (Math.abs(v) >= 100) return Math.round(v).toLocaleString('en-US');
  if (Math.abs(v) >= 10) return v.toFixed(1);
  return v.toFixed(2);
}

function fmtRatio(v: number): string {
  return `${v >= 10 ? v.toFixed(1) : v.toFixed(2)}×`;
}

function n(v: number | undefined): string {
  return v === undefined ? '?' : v.toLocaleString('en-US');
}

function unique<T>(items: readonly T[]): T[] {
  return [...new Set(items)];
}

function clamp(v: number, lo: number, hi: number): number {
  return Number.isFinite(v) ? Math.min(hi, Math.max(lo, v)) : lo;
}

function escapeXml(s: string): string {
  return s.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;');
}
