/**
 * Building projections that are behind the log, one batch at a time. Each batch is one
 * queued write, so an append waits behind at most one batch; progress is reported after
 * each. A batch that fails marks its projection failed (read back from the database, since
 * the failed batch's transaction is gone) and the build moves on to the next projection.
 */
import { isStoreClosed, messageOf } from './errors.ts';
import type { NoticePart } from './notices.ts';
import type { ProjectionProgress, ProjectionRunner } from './projection.ts';

/** What a rebuild needs of the engine. */
export interface RebuildHost {
  readonly projections: ProjectionRunner;
  readonly batchSize: number;
  /** Queues a write; see the engine's `write`. */
  write<T>(run: () => T, describe: (result: T) => NoticePart, fallback: () => readonly string[]): Promise<T>;
  /** Reports one batch's progress. */
  progress(progress: ProjectionProgress): void;
  /** True once the engine is closing. */
  closing(): boolean;
}

/** Builds every projection still behind the log, in registration order. */
export async function rebuildProjections(host: RebuildHost): Promise<void> {
  for (const name of host.projections.building()) {
    for (;;) {
      const progress = await nextBatch(host, name);
      if (progress === undefined) return;
      host.progress(progress);
      if (progress.state !== 'building') break;
    }
  }
}

/** Applies one batch of `name`'s build; undefined when the engine closed under it. */
async function nextBatch(host: RebuildHost, name: string): Promise<ProjectionProgress | undefined> {
  const { projections } = host;
  try {
    return await host.write(
      () => projections.rebuildBatch(name, host.batchSize),
      (p) => ({ head: p.head }),
      () => ['cairn_projections', ...projections.tablesOf(name)],
    );
  } catch (e) {
    if (host.closing() || isStoreClosed(e)) return undefined;
    try {
      return await host.write(
        () => {
          // The batch's transaction is gone: the database, not memory, says where the projection is.
          projections.reload(name);
          return projections.markFailed(name, messageOf(e));
        },
        (p) => ({ head: p.head }),
        () => ['cairn_projections'],
      );
    } catch {
      return undefined;
    }
  }
}
