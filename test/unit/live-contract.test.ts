import { describe } from 'vitest';
import { openStore } from '../../src/client/index.ts';
import type { SqlDriver } from '../../src/core/driver.ts';
import { createSqliteWasmDriver } from '../../src/core/sqlite-wasm-driver.ts';
import { loadSqlite } from '../../src/core/sqlite-wasm.ts';
import { defineLiveContract } from '../contract/live-contract.ts';
import { liveScenarios } from '../contract/live-scenarios.ts';
import { projectionSet, TEST_REBUILD_BATCH } from '../contract/test-projections.ts';

// In Node the database is in memory: to reopen one by name, its connection outlives the store.
const connections = new Map<string, SqlDriver>();
async function connection(name: string): Promise<SqlDriver> {
  let driver = connections.get(name);
  if (driver === undefined) {
    const sqlite3 = await loadSqlite();
    const real = createSqliteWasmDriver(sqlite3, new sqlite3.oo1.DB(':memory:', 'c'));
    driver = { ...real, close: () => {} };
    connections.set(name, driver);
  }
  return driver;
}

let n = 0;
describe('live contract: in-process (Node, sqlite-wasm in memory)', () => {
  defineLiveContract(
    (name) =>
      liveScenarios[name]({
        fresh: (prefix) => `node-${prefix}-${n++}`,
        open: async (storeName, projections) =>
          openStore({
            name: storeName,
            driver: await connection(storeName),
            rebuildBatchSize: TEST_REBUILD_BATCH,
            ...(projections === undefined ? {} : { projections: projectionSet(projections) }),
          }),
      }) as never,
  );
});
