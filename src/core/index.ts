/** cairndb/core: the portable engine over a synchronous SQL driver, for Node and the edge. */
export { createEngine, type CommitNotice, type Engine, type EngineOptions } from './engine.ts';
export type { QueryResult, Row, RunResult, SqlDriver, SqlValue } from './driver.ts';
export type { Projection, ProjectionDb, ProjectionProgress, ProjectionSetupDb } from './projection.ts';
export type { ConsumerInfo, ConsumerStart, DeadLetter, DeadLetterInput } from './checkpoints.ts';
export { createSqliteWasmDriver } from './sqlite-wasm-driver.ts';
export { loadSqlite, openMemoryEngine } from './sqlite-wasm.ts';
export { encodeCursor, decodeCursor } from './cursor.ts';
export { categoryOf } from './encode.ts';
export type { AppendRequest, EncodedEvent, StoredBatch, StoredEvent, StoredPage } from './records.ts';
