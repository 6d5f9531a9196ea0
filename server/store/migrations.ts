/**
 * The sync server's schema, as numbered migrations run on start.
 *
 * - Each migration runs in its own transaction and is recorded in `cairn_migrations`.
 * - The whole run holds a session-level advisory lock, so two instances starting at once do
 *   not both migrate: the second waits, then finds everything applied.
 * - A database migrated by a newer server (a version this one does not know) is refused,
 *   rather than written with assumptions that may no longer hold.
 *
 * The statements that use these tables live beside this file: `append.ts` (push) and
 * `read.ts` (pull and the live horizon check).
 */
import { StorageUnavailableError } from '../../src/core/errors.ts';
import { toNumber, type Queryable, type Storage } from './storage.ts';

/** One schema change. */
interface Migration {
  version: number;
  name: string;
  sql: string;
}

const MIGRATIONS: readonly Migration[] = [
  {
    version: 1,
    name: 'events, streams and the server identity',
    sql: `
      -- The server's identity, random and made once: cursors carry it, so that a cursor
      -- from another server (another database) is recognised and refused.
      CREATE TABLE cairn_server (
        id text PRIMARY KEY,
        created_at timestamptz NOT NULL DEFAULT now()
      );
      INSERT INTO cairn_server (id) VALUES (gen_random_uuid()::text);

      -- The log. Rows are only ever inserted.
      --  global_position: unique, taken from a sequence when the row is inserted.
      --  tx: the inserting transaction's id. Readers page on (tx, global_position) below the
      --      oldest transaction still running, so a transaction that commits late is never
      --      skipped (see read.ts).
      --  data, metadata: JSON text, stored exactly as pushed.
      --  "timestamp": when the event was appended on the device (ms since the epoch);
      --  recorded_at: when the server stored it.
      CREATE TABLE cairn_events (
        tenant text NOT NULL,
        global_position bigserial PRIMARY KEY,
        tx xid8 NOT NULL DEFAULT pg_current_xact_id(),
        id text NOT NULL,
        stream text NOT NULL,
        category text NOT NULL,
        version bigint NOT NULL CHECK (version >= 1),
        type text NOT NULL,
        data text NOT NULL,
        metadata text,
        routing_key text,
        "timestamp" bigint NOT NULL,
        schema_version integer NOT NULL,
        client text NOT NULL,
        recorded_at timestamptz NOT NULL DEFAULT now(),
        CONSTRAINT cairn_events_tenant_id UNIQUE (tenant, id),
        CONSTRAINT cairn_events_tenant_stream_version UNIQUE (tenant, stream, version)
      );
      -- Pulls of everything, in the reader's order.
      CREATE INDEX cairn_events_tenant_tx ON cairn_events (tenant, tx, global_position);
      -- Pulls filtered by category (a filter by stream uses the (tenant, stream, version) index).
      CREATE INDEX cairn_events_tenant_category_tx ON cairn_events (tenant, category, tx, global_position);

      -- Each stream's current version: what an expected version is checked against.
      CREATE TABLE cairn_streams (
        tenant text NOT NULL,
        stream text NOT NULL,
        version bigint NOT NULL CHECK (version >= 1),
        PRIMARY KEY (tenant, stream)
      );
    `,
  },
];

/**
 * Refuses a log whose newest row has a transaction id the cluster has not reached yet. That
 * happens when the database was restored from a dump into another cluster (pg_upgrade keeps
 * the counter; a dump does not): new rows would then take smaller ids than old ones, and
 * readers, who page by transaction id, would skip them. Cheap: one row by primary key.
 */
async function checkTransactionCounter(c: Queryable): Promise<void> {
  const { rows } = await c.query<{ behind: boolean }>(`
    SELECT e.tx >= pg_snapshot_xmax(pg_current_snapshot()) AS behind
    FROM cairn_events AS e ORDER BY e.global_position DESC LIMIT 1`);
  if (rows[0]?.behind === true) {
    throw new StorageUnavailableError(
      "The cluster's transaction counter is behind the transaction ids stored in cairn_events (was the database restored " +
        'from a dump into another cluster?). Pulls would skip new events. Advance the counter past them ' +
        '(pg_resetwal -x on the stopped cluster) or move the database with pg_upgrade, which keeps it.',
    );
  }
}

/**
 * The key of the advisory lock held while migrating (any constant will do, as long as every
 * instance uses the same one): 'cairn' in ASCII.
 */
const MIGRATION_LOCK = 0x636169726e;

/** Runs the migrations this database lacks; returns the server's identity. */
export async function migrate(storage: Storage): Promise<{ serverId: string }> {
  return storage.session(async (c) => {
    // Session-level: held across the migrations' own transactions, released in finally.
    await c.query('SELECT pg_advisory_lock($1)', [MIGRATION_LOCK]);
    try {
      await c.exec(`CREATE TABLE IF NOT EXISTS cairn_migrations (
        version integer PRIMARY KEY,
        name text NOT NULL,
        applied_at timestamptz NOT NULL DEFAULT now()
      )`);
      const applied = new Set(
        (await c.query<{ version: unknown }>('SELECT version FROM cairn_migrations')).rows.map((r) => toNumber(r.version)),
      );
      const newest = MIGRATIONS[MIGRATIONS.length - 1]!.version;
      const unknown = [...applied].filter((v) => v > newest);
      if (unknown.length > 0) {
        throw new StorageUnavailableError(
          `The database was migrated by a newer cairndb-server (schema version ${Math.max(...unknown)}; this one knows up to ${newest}). Upgrade this server.`,
        );
      }
      for (const m of MIGRATIONS) {
        if (applied.has(m.version)) continue;
        await c.exec('BEGIN');
        try {
          await c.exec(m.sql);
          await c.query('INSERT INTO cairn_migrations (version, name) VALUES ($1, $2)', [m.version, m.name]);
          await c.exec('COMMIT');
        } catch (e) {
          await c.exec('ROLLBACK').catch(() => {});
          throw e;
        }
      }
      const row = (await c.query<{ id: string }>('SELECT id FROM cairn_server ORDER BY created_at LIMIT 1')).rows[0];
      if (row === undefined) throw new StorageUnavailableError('The table cairn_server is empty: the database is damaged');
      await checkTransactionCounter(c);
      return { serverId: row.id };
    } finally {
      await c.query('SELECT pg_advisory_unlock($1)', [MIGRATION_LOCK]).catch(() => {});
    }
  });
}
