/**
 * Pull: a tenant's events after a cursor, in the server's order, never skipping one that
 * commits late.
 *
 * A `bigserial` alone cannot be paged: a transaction takes its positions when it inserts,
 * but commits later, so a reader can see position 3 committed while 2 is still in flight,
 * move its cursor past 2, and never see it. Instead every row carries the id of the
 * transaction that inserted it (`tx`), the cursor is the pair (tx, global_position), and a
 * reader only returns rows whose transaction is older than the oldest transaction still
 * running anywhere in the cluster (`pg_snapshot_xmin(pg_current_snapshot())`): every such
 * transaction has ended, so nothing can appear behind the cursor later. The order is by
 * transaction, then position: complete and stable, though not always position order.
 *
 * A long transaction anywhere in the cluster holds readers back (they stall; they lose
 * nothing). `tenantsAboveHorizon` lets the live side notice that and wake readers later.
 *
 * Each statement here is a single read in its own snapshot: no transaction, no locks.
 * Columns are qualified, so that ORDER BY sorts by the xid8 column, not by a text alias.
 */
import { categoryOf } from '../../src/core/encode.ts';
import type { PullFilter, ServerEvent } from '../../src/sync/protocol.ts';
import { toNumber, type Queryable } from './storage.ts';

/** A place in the server's order: just after the row (tx, position). */
export interface LogPosition {
  /** A transaction id (xid8), in decimal. */
  tx: string;
  position: number;
}

/** Before the first event. */
export const LOG_START: LogPosition = { tx: '0', position: 0 };

const COLUMNS = `e.tx::text AS tx_text, e.global_position, e.id, e.stream, e.version, e.type, e.data, e.metadata,
  e.routing_key, e."timestamp", e.schema_version`;

/** Params: $1 tenant, $2 tx, $3 position, $4 limit. */
const PULL = `
  SELECT ${COLUMNS}
  FROM cairn_events AS e
  WHERE e.tenant = $1
    AND (e.tx, e.global_position) > ($2::xid8, $3::bigint)
    AND e.tx < pg_snapshot_xmin(pg_current_snapshot())
  ORDER BY e.tx, e.global_position
  LIMIT $4`;

/** Params: as PULL, then $5 categories, $6 streams (either may be empty; they are OR'ed). */
const PULL_FILTERED = `
  SELECT ${COLUMNS}
  FROM cairn_events AS e
  WHERE e.tenant = $1
    AND (e.tx, e.global_position) > ($2::xid8, $3::bigint)
    AND e.tx < pg_snapshot_xmin(pg_current_snapshot())
    AND (e.category = ANY($5::text[]) OR e.stream = ANY($6::text[]))
  ORDER BY e.tx, e.global_position
  LIMIT $4`;

/**
 * Params: $1 tenants. Those with committed events at or above the horizon: events a pull
 * cannot return yet, because an older transaction is still running somewhere.
 */
const ABOVE_HORIZON = `
  SELECT t.tenant FROM unnest($1::text[]) AS t(tenant)
  WHERE EXISTS (
    SELECT 1 FROM cairn_events AS e
    WHERE e.tenant = t.tenant AND e.tx >= pg_snapshot_xmin(pg_current_snapshot()))`;

/** How many rows the caller may not read one pull skips at most, beyond its limit. */
const SKIP_BUDGET = 10_000;

/** A page of a pull. */
export interface PullPage {
  events: ServerEvent[];
  /** Where the next pull starts: past every row returned or skipped. */
  next: LogPosition;
  /** True when another pull would return events now (or this one stopped at a budget). */
  more: boolean;
}

/** Options of `pullEvents`. */
export interface PullOptions {
  limit: number;
  filter: PullFilter | undefined;
  /** Rows of streams it refuses are skipped; the cursor still moves past them. */
  canRead: ((stream: string) => boolean) | undefined;
  /** Stop adding events once their data passes this many UTF-16 units (at least one event). */
  maxChars: number;
}

/** Reads one page after `after`. */
export async function pullEvents(db: Queryable, tenant: string, after: LogPosition, options: PullOptions): Promise<PullPage> {
  const { limit, filter, canRead, maxChars } = options;
  const filtered = filter !== undefined && (filter.categories !== undefined || filter.streams !== undefined);
  const events: ServerEvent[] = [];
  let next = after;
  let skipped = 0;
  let chars = 0;
  for (;;) {
    // Fetch one more than is needed, to know whether there is more; a few more when the
    // caller's rights have been skipping rows, so as not to go one row per statement.
    const fetch = Math.max(limit - events.length + 1, skipped > 0 ? 64 : 1);
    const params: unknown[] = [tenant, next.tx, next.position, fetch];
    if (filtered) params.push(filter.categories ?? [], filter.streams ?? []);
    const { rows } = await db.query<EventRow>(filtered ? PULL_FILTERED : PULL, params);
    for (const row of rows) {
      const readable = canRead === undefined || canRead(row.stream);
      if (readable && (events.length === limit || (events.length > 0 && chars + row.data.length > maxChars))) {
        return { events, next, more: true };
      }
      next = { tx: row.tx_text, position: toNumber(row.global_position) };
      if (readable) {
        events.push(toServerEvent(row));
        chars += row.data.length + (row.metadata?.length ?? 0);
      } else if (++skipped >= SKIP_BUDGET) {
        return { events, next, more: true };
      }
    }
    if (rows.length < fetch) return { events, next, more: false };
  }
}

/** Of `tenants`, those whose readers are held back by the horizon right now. */
export async function tenantsAboveHorizon(db: Queryable, tenants: readonly string[]): Promise<string[]> {
  if (tenants.length === 0) return [];
  const { rows } = await db.query<{ tenant: string }>(ABOVE_HORIZON, [tenants]);
  return rows.map((r) => r.tenant);
}

type EventRow = {
  tx_text: string;
  global_position: unknown;
  id: string;
  stream: string;
  version: unknown;
  type: string;
  data: string;
  metadata: string | null;
  routing_key: string | null;
  timestamp: unknown;
  schema_version: unknown;
};

function toServerEvent(row: EventRow): ServerEvent {
  return {
    id: row.id,
    type: row.type,
    data: row.data,
    metadata: row.metadata,
    schemaVersion: toNumber(row.schema_version),
    timestamp: toNumber(row.timestamp),
    stream: row.stream,
    category: categoryOf(row.stream),
    version: toNumber(row.version),
    routingKey: row.routing_key,
    serverPosition: toNumber(row.global_position),
  };
}
