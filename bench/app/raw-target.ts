/** The page's handle on the raw worker: forwards target jobs, and probes a cold start. */
import { createRpcClient } from '../../src/protocol/rpc.ts';
import type { BenchTarget, ColdOpen, PragmaSettings } from '../jobs.ts';
import type { RawWorkerApi } from './raw.worker.ts';

function startRawWorker(): { api: ReturnType<typeof createRpcClient<RawWorkerApi>>; worker: Worker } {
  const worker = new Worker(new URL('./raw.worker.ts', import.meta.url), { type: 'module', name: 'raw' });
  return { api: createRpcClient<RawWorkerApi>(worker), worker };
}

// One long-lived worker serves every raw job, as Cairn's worker serves every cairn job.
let shared: ReturnType<typeof startRawWorker> | undefined;
function remote(): RawWorkerApi {
  shared ??= startRawWorker();
  return shared.api.remote;
}

/** The raw target's jobs, run in its worker. */
export const rawTarget: BenchTarget = {
  singleAppends: (args) => remote().singleAppends(args),
  concurrentAppends: (args) => remote().concurrentAppends(args),
  batchAppends: (args) => remote().batchAppends(args),
  readAll: (args) => remote().readAll(args),
  readStream: (args) => remote().readStream(args),
  close: (args) => remote().close(args),
  drop: (args) => remote().drop(args),
};

/** Opens a raw store with the PRAGMAs given, in the shared raw worker. */
export function rawOpenWith(store: string, pragmas: PragmaSettings): Promise<PragmaSettings> {
  return remote().openWith({ store, pragmas });
}

/**
 * Starts a fresh raw worker, opens a closed store in it and reads the first page: the
 * floor under any open-to-first-read, with its phases.
 */
export async function rawColdOpen(store: string, pageSize: number): Promise<ColdOpen> {
  const startAbs = performance.timeOrigin + performance.now();
  const start = performance.now();
  const { api, worker } = startRawWorker();
  try {
    const { marks, count } = await api.remote.coldOpen({ store, pageSize });
    const totalMs = performance.now() - start;
    const at = (mark: string): number => (marks[mark] ?? Number.NaN) - startAbs;
    return {
      openMs: at('migrated'),
      totalMs,
      count,
      phases: {
        'worker script running': at('scriptStart'),
        'sqlite3 loaded': at('sqliteLoaded'),
        'database open': at('databaseOpen'),
        migrated: at('migrated'),
        'first page read': at('firstRead'),
      },
    };
  } finally {
    api.dispose();
    worker.terminate();
  }
}
