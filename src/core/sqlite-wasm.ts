/** An engine on sqlite-wasm's in-memory database: the default outside a browser. */
import sqlite3InitModule, { type Sqlite3Static } from '@sqlite.org/sqlite-wasm';
import { createEngine, type Engine, type EngineOptions } from './engine.ts';
import { createSqliteWasmDriver } from './sqlite-wasm-driver.ts';

let sqlite3: Promise<Sqlite3Static> | undefined;

/** Loads the sqlite-wasm module once per realm. */
export function loadSqlite(): Promise<Sqlite3Static> {
  sqlite3 ??= sqlite3InitModule().then((s) => {
    // oo1 warns on every failed step; those failures reach the caller as CairnErrors already.
    s.config.warn = () => {};
    return s;
  });
  return sqlite3;
}

/** Opens an engine on a fresh in-memory database. */
export async function openMemoryEngine(options: EngineOptions = {}): Promise<Engine> {
  const s = await loadSqlite();
  const db = new s.oo1.DB(':memory:', 'c');
  return createEngine(createSqliteWasmDriver(s, db), options);
}
