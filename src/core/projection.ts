/**
 * Projections: SQL read models that the engine keeps inside the append transaction.
 *
 * Responsibilities:
 * - A new projection, or one whose `version` changed, gets its old tables dropped and
 *   `setup` run, in one transaction, when the engine opens. The objects `setup` created
 *   (read from sqlite_schema before and after) are recorded, so the next version can drop
 *   them without being told their names.
 * - A projection that is behind the log (new, changed, or left behind by a worker that ran
 *   without it) is built from the log in batches. Each batch is one queued write, so an
 *   append waits for at most one batch.
 * - A projection that has caught up is `ready`: every append runs its handler for each new
 *   event inside the append's SAVEPOINT, so the read model commits (or rolls back) with the
 *   events. A handler that throws fails that append with PROJECTION_FAILED.
 *
 * Interleavings handled:
 * - An append queued before a rebuild batch skips the projection that is still building;
 *   the batch, which reads the log inside the same transaction, then sees that event. The
 *   batch that reaches the head marks the projection ready before the next job of the same
 *   drain runs, so no event is handled twice or never.
 * - In-memory state changes only at the end of a job that succeeded; if its transaction is
 *   then lost (COMMIT failed), `reload` reads the state back from the database.
 */
import type { RunResult, Row, SqlDriver, SqlValue } from './driver.ts';
import { decodeEvent } from './encode.ts';
import { InvalidArgumentError, ProjectionFailedError, messageOf } from './errors.ts';
import { headPosition, readFiltered } from './event-log.ts';
import type { StoredEvent } from './records.ts';
import type { RecordedEvent } from './types.ts';
import type { Upcast } from './upcast.ts';

/** The database as a projection's `handle` sees it: statements run inside the append's transaction. */
export interface ProjectionDb {
  /** Runs one statement and reports its changes. */
  run(sql: string, params?: readonly SqlValue[]): RunResult;
  /** Runs one statement and returns every row. */
  all<T = Row>(sql: string, params?: readonly SqlValue[]): T[];
  /** Runs one statement and returns its first row. */
  get<T = Row>(sql: string, params?: readonly SqlValue[]): T | undefined;
}

/** The database as a projection's `setup` sees it: it may also run a script of DDL. */
export interface ProjectionSetupDb extends ProjectionDb {
  /** Runs one or more statements that return no rows (CREATE TABLE, CREATE INDEX...). */
  exec(sql: string): void;
}

/**
 * A SQL read model. `setup` creates its tables; `handle` applies one event, synchronously.
 * @example
 * const cartTotals: Projection = {
 *   name: 'cart_totals', version: 1,
 *   setup: (db) => db.exec('CREATE TABLE cart_totals (id TEXT PRIMARY KEY, n INTEGER NOT NULL)'),
 *   handle: (e, db) => {
 *     if (e.type === 'ItemAdded') db.run('INSERT INTO cart_totals VALUES (?, 1) ON CONFLICT (id) DO UPDATE SET n = n + 1', [e.stream]);
 *   },
 * };
 */
export interface Projection {
  /** Unique among the worker's projections. */
  name: string;
  /** Change it to drop the projection's tables and build them again from the log. */
  version: number;
  /** Creates the tables, indexes, views or triggers the projection owns. */
  setup(db: ProjectionSetupDb): void;
  /** Applies one event. It must be synchronous; throwing rejects the append that carried the event. */
  handle(event: RecordedEvent, db: ProjectionDb): void;
}

/** Where a projection stands: building from the log, ready (in step with every append), or failed. */
export interface ProjectionProgress {
  name: string;
  version: number;
  state: 'building' | 'ready' | 'failed';
  /** The position of the last event it has applied. */
  position: number;
  /** The newest position of the log when this was reported. */
  head: number;
  /** Why it failed, when it did. */
  error?: string;
}

interface Entry {
  def: Projection;
  state: ProjectionProgress['state'];
  /** Where a build stands; a ready projection's position is read from the database. */
  position: number;
  objects: SchemaObject[];
  error: string | undefined;
  /** What its handler may touch: its own objects (see `authorizer.ts`). */
  fence: { owned: Set<string>; setup: boolean };
  /** The connection as its handler sees it, fenced where the driver can fence. */
  db: ProjectionDb;
}

interface SchemaObject {
  type: string;
  name: string;
}

/** The engine's projections over one connection. */
export class ProjectionRunner {
  readonly #driver: SqlDriver;
  readonly #entries = new Map<string, Entry>();

  /** Decodes a stored event and brings it to its latest shape; undefined skips it. */
  readonly #decode: (stored: StoredEvent) => RecordedEvent | undefined;

  constructor(driver: SqlDriver, projections: readonly Projection[], upcast: Upcast = (e) => e) {
    this.#driver = driver;
    this.#decode = (stored) => upcast(decodeEvent(stored));
    for (const def of projections) {
      validate(def);
      if (this.#entries.has(def.name)) throw new InvalidArgumentError(`Two projections are named "${def.name}"`);
      const fence = { owned: new Set<string>(), setup: false };
      // A driver that cannot fence still hands the handler nothing but its four statements.
      const db = driver.fenced?.(fence) ?? {
        exec: (sql: string) => driver.exec(sql),
        run: (sql: string, params?: readonly SqlValue[]) => driver.run(sql, params),
        all: <T = Row>(sql: string, params?: readonly SqlValue[]) => driver.all<T>(sql, params),
        get: <T = Row>(sql: string, params?: readonly SqlValue[]) => driver.get<T>(sql, params),
      };
      this.#entries.set(def.name, { def, state: 'building', position: 0, objects: [], error: undefined, fence, db });
    }
  }

  /** True when there is at least one projection. */
  get any(): boolean {
    return this.#entries.size > 0;
  }

  /**
   * Sets up new and changed projections and loads the state of the others. Runs once, when
   * the engine opens, before anything is queued. A `setup` that throws fails the open.
   */
  prepare(): void {
    const db = this.#driver;
    for (const entry of this.#entries.values()) {
      const { def } = entry;
      const row = db.get<{ version: number; state: string; position: number; objects: string; error: string | null }>(
        'SELECT version, state, position, objects, error FROM cairn_projections WHERE name = ?',
        [def.name],
      );
      if (row !== undefined && Number(row.version) === def.version) {
        this.#own(entry, JSON.parse(row.objects) as SchemaObject[]);
        entry.position = Number(row.position);
        // A failed build is tried again; a ready one that fell behind (another worker ran without it) catches up.
        entry.state = row.state === 'ready' && entry.position >= headPosition(db) ? 'ready' : 'building';
        continue;
      }
      db.exec('BEGIN IMMEDIATE');
      try {
        this.#setUp(entry, row === undefined ? [] : (JSON.parse(row.objects) as SchemaObject[]));
        db.exec('COMMIT');
      } catch (e) {
        db.exec('ROLLBACK');
        throw e instanceof ProjectionFailedError
          ? e
          : new ProjectionFailedError(def.name, `The setup of projection "${def.name}" failed: ${messageOf(e)}`, { cause: e });
      }
    }
  }

  /**
   * Starts projections over: drops their objects, runs `setup` again and builds them from
   * the log, inside the caller's transaction. What the sync engine does to projections it
   * cannot undo precisely (see `restartable`).
   */
  restart(names: readonly string[]): void {
    for (const name of names) {
      const entry = this.#entry(name);
      this.#setUp(entry, entry.objects);
      entry.error = undefined;
    }
  }

  /**
   * The projections whose every table has a primary key: SQLite's session extension can
   * record, and so undo, their changes. The others are rebuilt instead.
   */
  undoable(): { exact: string[]; rebuild: string[] } {
    const exact: string[] = [];
    const rebuild: string[] = [];
    for (const entry of this.#entries.values()) {
      const keyed = tablesOf(entry).every((t) =>
        this.#driver.all<{ pk: number }>('SELECT pk FROM pragma_table_info(?)', [t]).some((c) => Number(c.pk) > 0),
      );
      (keyed && entry.state === 'ready' ? exact : rebuild).push(entry.def.name);
    }
    return { exact, rebuild };
  }

  /** Drops `previous`, runs the setup, and records the new objects; the projection then builds from position 0. */
  #setUp(entry: Entry, previous: SchemaObject[]): void {
    const db = this.#driver;
    const { def } = entry;
    dropObjects(db, previous);
    const before = new Set(schemaObjects(db).map(key));
    entry.fence.setup = true;
    try {
      synchronous(def.name, 'setup', def.setup(entry.db as ProjectionSetupDb));
    } finally {
      entry.fence.setup = false;
    }
    this.#own(entry, schemaObjects(db).filter((o) => !before.has(key(o))));
    entry.position = 0;
    // On an empty log there is nothing to build.
    entry.state = headPosition(db) === 0 ? 'ready' : 'building';
    db.run(
      `INSERT INTO cairn_projections (name, version, state, position, objects, error) VALUES (?, ?, ?, 0, ?, NULL)
       ON CONFLICT (name) DO UPDATE SET version = excluded.version, state = excluded.state,
         position = 0, objects = excluded.objects, error = NULL`,
      [def.name, def.version, entry.state, JSON.stringify(entry.objects)],
    );
  }

  /** Every projection's name, in registration order. */
  names(): string[] {
    return [...this.#entries.keys()];
  }

  /** The names of the projections in step with the log. */
  readyNames(): string[] {
    return [...this.#entries.values()].filter((e) => e.state === 'ready').map((e) => e.def.name);
  }

  /** The names of the projections still to build, in registration order. */
  building(): string[] {
    return [...this.#entries.values()].filter((e) => e.state === 'building').map((e) => e.def.name);
  }

  /** The tables owned by ready projections: what an append may have written, when the driver cannot say. */
  readyTables(): string[] {
    return [...this.#entries.values()].filter((e) => e.state === 'ready').flatMap((e) => tablesOf(e));
  }

  /** The tables one projection owns. */
  tablesOf(name: string): string[] {
    const entry = this.#entries.get(name);
    return entry === undefined ? [] : tablesOf(entry);
  }

  /**
   * Runs every ready projection over events just appended, inside the append's savepoint.
   * Throws PROJECTION_FAILED on the first handler that throws.
   */
  apply(events: readonly StoredEvent[]): void {
    if (events.length === 0) return;
    const ready = [...this.#entries.values()].filter((e) => e.state === 'ready');
    if (ready.length === 0) return;
    for (const stored of events) {
      const event = this.#decode(stored);
      if (event === undefined) continue;
      for (const entry of ready) this.#handle(entry, event);
    }
    // Kept in the database only: it commits or rolls back with the append (memory would not).
    const position = events.at(-1)!.position;
    for (const entry of ready) {
      this.#driver.run('UPDATE cairn_projections SET position = ? WHERE name = ?', [position, entry.def.name]);
    }
  }

  /** Builds the next batch of a projection from the log; the batch that reaches the head makes it ready. */
  rebuildBatch(name: string, batchSize: number): ProjectionProgress {
    const entry = this.#entry(name);
    if (entry.state !== 'building') return this.#progress(entry);
    const events = readFiltered(this.#driver, {}, entry.position, false, batchSize);
    for (const stored of events) {
      const event = this.#decode(stored);
      if (event !== undefined) this.#handle(entry, event);
    }
    const position = events.at(-1)?.position ?? entry.position;
    const done = events.length < batchSize;
    this.#driver.run('UPDATE cairn_projections SET position = ?, state = ?, error = NULL WHERE name = ?', [
      position,
      done ? 'ready' : 'building',
      name,
    ]);
    entry.position = position;
    if (done) entry.state = 'ready';
    return this.#progress(entry);
  }

  /** Records that a projection's build failed; it is skipped until the engine opens again. */
  markFailed(name: string, error: string): ProjectionProgress {
    const entry = this.#entry(name);
    this.#driver.run("UPDATE cairn_projections SET state = 'failed', error = ? WHERE name = ?", [error, name]);
    entry.state = 'failed';
    entry.error = error;
    return this.#progress(entry);
  }

  /** Reads a projection's state back from the database, after a transaction that held changes to it was lost. */
  reload(name: string): void {
    const entry = this.#entry(name);
    const row = this.#driver.get<{ state: string; position: number }>(
      'SELECT state, position FROM cairn_projections WHERE name = ?',
      [name],
    );
    if (row === undefined) return;
    entry.position = Number(row.position);
    entry.state = row.state === 'ready' ? 'ready' : row.state === 'failed' ? 'failed' : 'building';
  }

  /** Reads every projection's state back from the database, after a transaction was lost. */
  reloadAll(): void {
    for (const name of this.#entries.keys()) this.reload(name);
  }

  /** Where every projection stands. */
  status(): ProjectionProgress[] {
    return [...this.#entries.values()].map((e) => this.#progress(e));
  }

  #entry(name: string): Entry {
    const entry = this.#entries.get(name);
    if (entry === undefined) throw new InvalidArgumentError(`No projection is named "${name}"`);
    return entry;
  }

  /** Records the objects a projection owns, which are what its fence lets it write. */
  #own(entry: Entry, objects: SchemaObject[]): void {
    entry.objects = objects;
    entry.fence.owned.clear();
    for (const o of objects) entry.fence.owned.add(o.name.toLowerCase());
  }

  #handle(entry: Entry, event: RecordedEvent): void {
    try {
      synchronous(entry.def.name, 'handle', entry.def.handle(event, entry.db));
    } catch (e) {
      if (e instanceof ProjectionFailedError) throw e;
      throw new ProjectionFailedError(
        entry.def.name,
        `Projection "${entry.def.name}" failed on event ${event.position} (${event.type}): ${messageOf(e)}`,
        { cause: e },
      );
    }
  }

  #progress(entry: Entry): ProjectionProgress {
    const stored = this.#driver.get<{ position: number }>('SELECT position FROM cairn_projections WHERE name = ?', [
      entry.def.name,
    ]);
    const p: ProjectionProgress = {
      name: entry.def.name,
      version: entry.def.version,
      state: entry.state,
      position: Number(stored?.position ?? entry.position),
      head: headPosition(this.#driver),
    };
    if (entry.error !== undefined && entry.state === 'failed') p.error = entry.error;
    return p;
  }
}

function validate(def: Projection): void {
  if (typeof def !== 'object' || def === null) throw new InvalidArgumentError('A projection must be an object');
  if (typeof def.name !== 'string' || def.name.length === 0 || def.name.length > 200) {
    throw new InvalidArgumentError('A projection needs a name: a non-empty string of at most 200 characters');
  }
  if (!Number.isSafeInteger(def.version) || def.version < 1) {
    throw new InvalidArgumentError(`Projection "${def.name}" needs a version: an integer >= 1`);
  }
  if (typeof def.setup !== 'function' || typeof def.handle !== 'function') {
    throw new InvalidArgumentError(`Projection "${def.name}" needs setup and handle functions`);
  }
}

/** A handler runs inside a synchronous transaction: a promise would settle after it committed. */
function synchronous(name: string, what: string, result: unknown): void {
  if (typeof (result as { then?: unknown } | undefined)?.then === 'function') {
    (result as Promise<unknown>).then(undefined, () => {}); // its rejection is reported here instead
    throw new ProjectionFailedError(name, `Projection "${name}": ${what} returned a promise; it must be synchronous`);
  }
}

function schemaObjects(db: SqlDriver): SchemaObject[] {
  return db.all<SchemaObject>(
    "SELECT type, name FROM sqlite_schema WHERE name NOT LIKE 'sqlite_%' ORDER BY rowid",
  );
}

function key(o: SchemaObject): string {
  return `${o.type}\u0000${o.name}`;
}

function tablesOf(entry: Entry): string[] {
  return entry.objects.filter((o) => o.type === 'table').map((o) => o.name.toLowerCase());
}

/** Drops what a projection's old version created: triggers and views first, then tables (their indexes go with them). */
function dropObjects(db: SqlDriver, objects: readonly SchemaObject[]): void {
  const order = ['trigger', 'view', 'index', 'table'];
  const sorted = [...objects].sort((a, b) => order.indexOf(a.type) - order.indexOf(b.type));
  for (const o of sorted) {
    if (!order.includes(o.type)) continue;
    db.exec(`DROP ${o.type.toUpperCase()} IF EXISTS "${o.name.replaceAll('"', '""')}"`);
  }
}

