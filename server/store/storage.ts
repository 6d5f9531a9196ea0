/**
 * What the sync server needs from PostgreSQL, so that the real server (`pg`, a pool) and the
 * embedded default (PGlite, one connection) plug in alike. Statements are plain SQL with
 * bound parameters ($1, $2...); the SQL itself lives next to the migration that creates the
 * tables it uses (`migrations.ts`, `append.ts`, `read.ts`).
 */

/** A row as a driver returns it. Numbers of type bigint may come back as string, number or bigint. */
export type Row = Record<string, unknown>;

/** Something that runs statements: a connection, or a transaction on one. */
export interface Queryable {
  /** Runs one statement with bound parameters. */
  query<R extends Row = Row>(sql: string, params?: readonly unknown[]): Promise<{ rows: R[]; rowCount: number }>;
  /** Runs a script of several statements without parameters (migrations, BEGIN/COMMIT). */
  exec(sql: string): Promise<void>;
}

/** A handle on the database. */
export interface Storage extends Queryable {
  /** `postgres` (a pool over the network) or `pglite` (embedded, one connection). */
  readonly kind: 'postgres' | 'pglite';
  /**
   * Runs `fn` in one READ COMMITTED transaction: COMMIT when it resolves, ROLLBACK when it
   * throws (the error is rethrown).
   */
  transaction<T>(fn: (tx: Queryable) => Promise<T>): Promise<T>;
  /** Runs `fn` on one connection held for its whole duration (for session-level locks). */
  session<T>(fn: (connection: Queryable) => Promise<T>): Promise<T>;
  /**
   * Calls `onNotify` with the payload of each NOTIFY on `channel`, from a connection of its
   * own. `onGap` is called when notifications may have been lost (the connection dropped and
   * came back). Resolves once listening; the result stops it.
   */
  listen(channel: string, onNotify: (payload: string) => void, onGap: () => void): Promise<() => Promise<void>>;
  /** Closes every connection (and, for PGlite, the database and its lock file). */
  close(): Promise<void>;
}

/** The SQLSTATE of a driver error, if it has one. */
export function sqlState(e: unknown): string | undefined {
  const code = (e as { code?: unknown } | null)?.code;
  return typeof code === 'string' && /^[0-9A-Z]{5}$/.test(code) ? code : undefined;
}

/** Reads a bigint column, whichever JavaScript type the driver gave it. */
export function toNumber(value: unknown): number {
  const n = typeof value === 'number' ? value : Number(value as string | bigint);
  if (!Number.isSafeInteger(n)) throw new Error(`Not a safe integer: ${String(value)}`);
  return n;
}
