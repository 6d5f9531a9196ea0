/**
 * CPU profile of one workload on one target, page and worker threads side by side: the
 * evidence for what is ours and what is the SQLite binding's. Records a Chromium trace with
 * the V8 sampling profiler on, then prints the functions with the most self time per thread.
 *
 *   WHAT=W4 TARGET=cairn N=20000 node bench/run.mjs bench/profile.ts
 *
 * WHAT: W1 | W2 | W3 | W4 | W5; TARGET: raw | cairn | idb; N: events; TOP: rows per thread;
 * SKIP_BUILD=1 reuses the last build. The build is not minified, so names are readable.
 */
import { writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { build, preview } from 'vite';
import { launchChromium } from '../test/support/chromium.ts';
import { makeProfile, removeProfile } from '../test/support/profiles.ts';
import type { Job, TargetName } from './jobs.ts';

interface TraceEvent {
  name: string;
  ph: string;
  pid: number;
  tid: number;
  id?: string;
  args?: {
    name?: string;
    data?: {
      cpuProfile?: { nodes?: ProfileNode[]; samples?: number[] };
      timeDeltas?: number[];
    };
  };
}

interface ProfileNode {
  id: number;
  callFrame: { functionName: string; url: string; lineNumber: number };
}

const configFile = fileURLToPath(new URL('./app/vite.config.ts', import.meta.url));
if (process.env.SKIP_BUILD !== '1') await build({ configFile, build: { minify: false } });
const server = await preview({ configFile, preview: { host: '127.0.0.1', port: 0 } });
const address = server.httpServer.address() as { port: number };
const profile = makeProfile();
const chrome = await launchChromium(profile);
try {
  const page = await chrome.openPage(`http://127.0.0.1:${address.port}/`);
  const run = (job: Job): Promise<unknown> => page.evaluate((j) => window.cairnBench.run(j), job);
  const what = process.env.WHAT ?? 'W4';
  const target = (process.env.TARGET ?? 'cairn') as TargetName;
  const n = Number(process.env.N ?? 20_000);
  const store = `profile-${target}`;
  if (what === 'W4' || what === 'W5') {
    const interleave = { stream: 'target-1', perCall: 10, total: 200 };
    await run({ kind: 'batchAppends', target, args: { store, streamPrefix: 's', count: n, batch: 1000, interleave } });
  }
  const jobs: Record<string, Job> = {
    W1: { kind: 'singleAppends', target, args: { store, stream: 'w1', count: n } },
    W2: { kind: 'concurrentAppends', target, args: { store, streamPrefix: 'w2', streams: 100, count: n } },
    W3: { kind: 'batchAppends', target, args: { store, streamPrefix: 'w3', count: n, batch: 1000 } },
    W4: { kind: 'readAll', target, args: { store, count: n, pageSize: 1000 } },
    W5: { kind: 'readStream', target, args: { store, stream: 'target-1', repeats: 20 } },
  };
  const job = jobs[what];
  if (job === undefined) throw new Error(`WHAT must be one of ${Object.keys(jobs).join(', ')}`);
  console.log('warm-up', JSON.stringify(await run(job)).slice(0, 120));
  await chrome.browser.startTracing(page, { categories: ['disabled-by-default-v8.cpu_profiler', '__metadata'] });
  const started = performance.now();
  const result = await run(job);
  const wall = performance.now() - started;
  const buffer = await chrome.browser.stopTracing();
  console.log('measured', JSON.stringify(result).slice(0, 120), `wall ${wall.toFixed(0)} ms`);
  const file = join(tmpdir(), `cairn-profile-${what}-${target}.json`);
  writeFileSync(file, buffer);
  console.log(`trace: ${file} (open in chrome://tracing or the Performance panel)`);
  report(JSON.parse(buffer.toString()) as { traceEvents: TraceEvent[] }, Number(process.env.TOP ?? 25));
} finally {
  await chrome.close();
  removeProfile(profile);
  server.httpServer.close();
}

/** Prints self time per function for every thread that was busy for at least 20 ms. */
function report(trace: { traceEvents: TraceEvent[] }, top: number): void {
  const threads = new Map<string, string>();
  for (const e of trace.traceEvents) {
    if (e.ph === 'M' && e.name === 'thread_name') threads.set(`${e.pid}:${e.tid}`, e.args?.name ?? '?');
  }
  const profiles = new Map<string, { thread: string; nodes: Map<number, ProfileNode>; self: Map<number, number> }>();
  for (const e of trace.traceEvents) {
    if (e.name !== 'Profile' && e.name !== 'ProfileChunk') continue;
    const key = `${e.pid}:${e.id ?? ''}`;
    let p = profiles.get(key);
    if (p === undefined) {
      p = { thread: threads.get(`${e.pid}:${e.tid}`) ?? key, nodes: new Map(), self: new Map() };
      profiles.set(key, p);
    }
    const data = e.args?.data;
    for (const node of data?.cpuProfile?.nodes ?? []) p.nodes.set(node.id, node);
    const deltas = data?.timeDeltas ?? [];
    (data?.cpuProfile?.samples ?? []).forEach((sample, i) => p.self.set(sample, (p.self.get(sample) ?? 0) + (deltas[i] ?? 0)));
  }
  for (const p of profiles.values()) {
    const byFunction = new Map<string, number>();
    let total = 0;
    for (const [id, us] of p.self) {
      const frame = p.nodes.get(id)?.callFrame;
      const name = `${frame?.functionName || '(anonymous)'} ${(frame?.url ?? '').split('/').pop()}:${frame?.lineNumber ?? ''}`;
      byFunction.set(name, (byFunction.get(name) ?? 0) + us);
      total += us;
    }
    if (total < 20_000) continue;
    console.log(`\n== ${p.thread}: ${(total / 1000).toFixed(0)} ms sampled`);
    for (const [name, us] of [...byFunction].sort((a, b) => b[1] - a[1]).slice(0, top)) {
      console.log(`${(us / 1000).toFixed(1).padStart(8)} ms ${((100 * us) / total).toFixed(1).padStart(5)}%  ${name}`);
    }
  }
}
