/**
 * The bench page: runs the jobs the Node runner sends (see `../jobs.ts`) against the
 * targets, and exposes them on `window.cairnBench`.
 */
import type { BenchPageApi, BenchTarget, Job, JobStatus, TargetName } from '../jobs.ts';
import { cairnColdOpen, cairnTarget } from './cairn-target.ts';
import { dexieTarget } from './dexie-target.ts';
import { idbTarget } from './idb-target.ts';
import { liveJobs } from './live.ts';
import { pgliteTarget } from './pglite-target.ts';
import { rawColdOpen, rawOpenWith, rawTarget } from './raw-target.ts';

const targets: Record<TargetName, BenchTarget> = {
  raw: rawTarget,
  cairn: cairnTarget('cairn'),
  'cairn-idb': cairnTarget('cairn-idb'),
  idb: idbTarget,
  dexie: dexieTarget,
  pglite: pgliteTarget,
};

async function run(job: Job): Promise<unknown> {
  switch (job.kind) {
    case 'coldOpen':
      return job.args.target === 'raw'
        ? rawColdOpen(job.args.store, job.args.pageSize)
        : cairnColdOpen(job.args.target, job.args.store, job.args.pageSize);
    case 'rawOpenWith':
      return rawOpenWith(job.args.store, job.args.pragmas);
    case 'liveSubscribe':
      return liveJobs.liveSubscribe(job.args);
    case 'liveLatency':
      return liveJobs.liveLatency(job.args);
    case 'loadedAppends':
      return liveJobs.loadedAppends(job.args);
    case 'openAndRead':
      return liveJobs.openAndRead(job.args);
    case 'liveClose':
      return liveJobs.liveClose(job.args);
    default: {
      const target = targets[job.target];
      // The union's arms pair each kind with its own args; TypeScript cannot follow that
      // through an index, hence the cast.
      return (target[job.kind] as (args: unknown) => Promise<unknown>)(job.args);
    }
  }
}

let nextJob = 1;
const jobs = new Map<number, JobStatus>();

const api: BenchPageApi = {
  run,
  start(job) {
    const id = nextJob++;
    jobs.set(id, { done: false });
    run(job).then(
      (result) => jobs.set(id, { done: true, ok: true, result }),
      (e: unknown) => jobs.set(id, { done: true, ok: false, error: e instanceof Error ? `${e.name}: ${e.message}\n${e.stack ?? ''}` : String(e) }),
    );
    return id;
  },
  poll(id) {
    const status = jobs.get(id) ?? { done: true, ok: false, error: `No job ${id}` };
    if (status.done) jobs.delete(id);
    return status;
  },
  info: () => ({ userAgent: navigator.userAgent, hardwareConcurrency: navigator.hardwareConcurrency }),
};

declare global {
  interface Window {
    cairnBench: BenchPageApi;
  }
}
window.cairnBench = api;
document.title = 'ready';
