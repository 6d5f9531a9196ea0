/**
 * Starts one throwaway PostgreSQL cluster for the whole server run; each test file creates
 * its own database in it (see `database.ts`).
 */
import type { TestProject } from 'vitest/node';
import { startPostgres, type PostgresCluster } from './postgres.ts';

declare module 'vitest' {
  export interface ProvidedContext {
    /** A superuser URL of the cluster's `postgres` database. */
    postgresUrl: string;
  }
}

let cluster: PostgresCluster | undefined;

export async function setup(project: TestProject): Promise<void> {
  cluster = await startPostgres();
  project.provide('postgresUrl', cluster.url);
}

export async function teardown(): Promise<void> {
  await cluster?.stop();
}
