/**
 * Storage on a real PostgreSQL through `pg`: a pool for statements and transactions, and one
 * dedicated client per listener, which reconnects (with backoff) when its connection drops.
 */
import { Client, Pool, type ClientConfig, type PoolClient, type PoolConfig } from 'pg';
import type { SyncServerLog } from '../log.ts';
import type { Queryable, Row, Storage } from './storage.ts';

/** Opens a pool on `database` (a `postgres://` URL or a `pg` pool config). */
export function openPostgres(database: string | PoolConfig, log: SyncServerLog): Storage {
  const config: PoolConfig = typeof database === 'string' ? { connectionString: database } : { ...database };
  const pool = new Pool(config);
  // An idle client whose connection dies emits 'error' on the pool; unhandled, it would end the process.
  pool.on('error', (e) => log.error('a pooled PostgreSQL connection failed', e));
  const listeners = new Set<() => Promise<void>>();

  const on = (client: Pool | PoolClient): Queryable => ({
    async query<R extends Row>(sql: string, params?: readonly unknown[]) {
      const result = await client.query<R>(sql, params as unknown[] | undefined);
      return { rows: result.rows, rowCount: result.rowCount ?? 0 };
    },
    async exec(sql: string) {
      await client.query(sql);
    },
  });

  async function withClient<T>(fn: (client: PoolClient) => Promise<T>): Promise<T> {
    const client = await pool.connect();
    try {
      const result = await fn(client);
      client.release();
      return result;
    } catch (e) {
      // The connection may be mid-transaction or broken: discard it rather than reuse it.
      client.release(e instanceof Error ? e : new Error(String(e)));
      throw e;
    }
  }

  return {
    kind: 'postgres',
    ...on(pool),
    transaction: (fn) =>
      withClient(async (client) => {
        await client.query('BEGIN');
        let result;
        try {
          result = await fn(on(client));
        } catch (e) {
          await client.query('ROLLBACK').catch(() => {});
          throw e;
        }
        await client.query('COMMIT');
        return result;
      }),
    session: (fn) => withClient((client) => fn(on(client))),
    async listen(channel, onNotify, onGap) {
      const stop = await listenWithReconnect(config, channel, onNotify, onGap, log);
      listeners.add(stop);
      return async () => {
        listeners.delete(stop);
        await stop();
      };
    },
    async close() {
      await Promise.all([...listeners].map((stop) => stop()));
      await pool.end();
    },
  };
}

/** LISTENs on a client of its own; on a dropped connection, reconnects and reports a gap. */
async function listenWithReconnect(
  config: ClientConfig,
  channel: string,
  onNotify: (payload: string) => void,
  onGap: () => void,
  log: SyncServerLog,
): Promise<() => Promise<void>> {
  let stopped = false;
  let client: Client | undefined;
  let retry: ReturnType<typeof setTimeout> | undefined;
  let delay = 100;

  async function connect(): Promise<void> {
    const next = new Client(config);
    next.on('notification', (n) => {
      if (n.channel === channel) onNotify(n.payload ?? '');
    });
    // Only a connection that was up is re-established here; a failed connect rejects below.
    next.on('error', (e) => {
      if (stopped || client !== next) return;
      log.warn(`the LISTEN connection failed (${e.message}); reconnecting`);
      void next.end().catch(() => {});
      schedule();
    });
    next.on('end', () => {
      if (stopped || client !== next) return;
      log.warn('the LISTEN connection closed; reconnecting');
      schedule();
    });
    try {
      await next.connect();
      // The channel is ours, not user input: quote it as an identifier all the same.
      await next.query(`LISTEN "${channel.replaceAll('"', '""')}"`);
    } catch (e) {
      void next.end().catch(() => {});
      throw e;
    }
    if (stopped) {
      await next.end();
      return;
    }
    client = next;
    delay = 100;
  }

  function schedule(): void {
    client = undefined;
    if (stopped || retry !== undefined) return;
    retry = setTimeout(() => {
      retry = undefined;
      connect().then(
        () => onGap(), // notifications sent while we were away are lost: wake everyone once
        (e: unknown) => {
          log.warn(`cannot reconnect the LISTEN connection (${(e as Error).message}); retrying`);
          delay = Math.min(delay * 2, 5_000);
          schedule();
        },
      );
    }, delay);
  }

  await connect();
  return async () => {
    stopped = true;
    if (retry !== undefined) clearTimeout(retry);
    await client?.end().catch(() => {});
  };
}
