/**
 * Push: a device's batches written into the log, in one transaction per push.
 *
 * Why one transaction per push, and not one per batch: every batch is decided in memory
 * before anything is written (the versions and the already-stored ids are read once, under
 * the stream locks), so a batch that fails writes nothing and needs no savepoint; the
 * accepted batches are then written with one INSERT. A push of 1,000 batches costs one
 * commit (one WAL flush), not 1,000, and sends one NOTIFY. A crash before COMMIT keeps
 * nothing of the push, and the device's retry is answered from what is stored.
 *
 * The transaction, in order:
 *  1. LOCK_STREAMS: a transaction-scoped advisory lock on each (tenant, stream) the push
 *     touches, all in one statement, in sorted key order (so two pushes never wait on each
 *     other in a cycle), and BEFORE the first write. The order matters for readers: they
 *     page by transaction id, and PostgreSQL gives a transaction its id at its first write.
 *     Had a transaction written (and so taken its id) before waiting for a stream's lock,
 *     its later version of that stream would carry a smaller id than the earlier version
 *     written by the lock's holder, and readers would see the versions out of order. Taking
 *     every lock first makes pull order agree with version order in every stream.
 *  2. STREAM_VERSIONS and STORED_EVENTS: plain reads (no row locks, which would take an id).
 *  3. INSERT_EVENTS: every accepted event, ON CONFLICT DO NOTHING. The stream locks rule out
 *     a version clash; an id clash can still come from a concurrent push of the same id into
 *     a stream this push does not lock. Then fewer rows come back than were sent, the whole
 *     transaction is rolled back (PushRace) and decided again, and the retry sees the id.
 *  4. UPSERT_STREAMS: the touched streams' new versions (row locks on those rows only).
 *  5. NOTIFY: one per push, delivered at COMMIT (not one per event, not a trigger).
 */
import { categoryOf } from '../../src/core/encode.ts';
import { DuplicateEventIdError } from '../../src/core/errors.ts';
import type { PushBatch, PushBatchResult, PushRequest, SyncExpectedVersion } from '../../src/sync/protocol.ts';
import { wireError } from '../wire.ts';
import { toNumber, type Queryable } from './storage.ts';

/** The channel of the one NOTIFY per push; its payload is the tenant. */
export const EVENTS_CHANNEL = 'cairn_events';

/**
 * Params: $1 tenant, $2 the stream names. The key of (tenant, stream) is a 64-bit hash of
 * the stream seeded by the tenant's hash: a collision only makes two streams share a lock.
 * PostgreSQL evaluates a volatile function in the select list after ORDER BY (since 9.6), so
 * the locks are taken in key order.
 */
export const LOCK_STREAMS = `
  SELECT pg_advisory_xact_lock(keys.k)
  FROM (SELECT DISTINCT hashtextextended(s.stream, hashtext($1)) AS k FROM unnest($2::text[]) AS s(stream)) AS keys
  ORDER BY keys.k`;

/** Params: $1 tenant, $2 stream names. */
const STREAM_VERSIONS = `
  SELECT s.stream, s.version FROM cairn_streams AS s
  WHERE s.tenant = $1 AND s.stream = ANY($2::text[])`;

/** Params: $1 tenant, $2 event ids. Everything a retry is compared on. */
const STORED_EVENTS = `
  SELECT e.id, e.stream, e.version, e.global_position, e.type, e.data, e.metadata, e.routing_key,
         e."timestamp", e.schema_version
  FROM cairn_events AS e
  WHERE e.tenant = $1 AND e.id = ANY($2::text[])`;

/** Params: $1 tenant, $2 client, then one array per column, in the order they were decided. */
const INSERT_EVENTS = `
  INSERT INTO cairn_events
    (tenant, client, id, stream, category, version, type, data, metadata, routing_key, "timestamp", schema_version)
  SELECT $1, $2, e.id, e.stream, e.category, e.version, e.type, e.data, e.metadata, e.routing_key, e.ts, e.schema_version
  FROM unnest($3::text[], $4::text[], $5::text[], $6::bigint[], $7::text[], $8::text[], $9::text[], $10::text[],
              $11::bigint[], $12::integer[])
    WITH ORDINALITY AS e(id, stream, category, version, type, data, metadata, routing_key, ts, schema_version, n)
  ORDER BY e.n
  ON CONFLICT DO NOTHING
  RETURNING id, global_position`;

/** Params: $1 tenant, $2 stream names, $3 their new versions. */
const UPSERT_STREAMS = `
  INSERT INTO cairn_streams (tenant, stream, version)
  SELECT $1, s.stream, s.version FROM unnest($2::text[], $3::bigint[]) AS s(stream, version)
  ON CONFLICT (tenant, stream) DO UPDATE SET version = EXCLUDED.version`;

/** Params: $1 channel, $2 tenant. */
const NOTIFY = 'SELECT pg_notify($1, $2)';

/** A concurrent push stored one of this push's ids meanwhile: roll back and decide again. */
export class PushRace extends Error {
  constructor() {
    super('An event id of this push was stored by a concurrent push');
    this.name = 'PushRace';
  }
}

/** What a push did. */
export interface PushOutcome {
  /** One per batch, in order. */
  results: PushBatchResult[];
  /** How many events this push inserted (0 for a pure retry). */
  inserted: number;
}

/**
 * Runs one push inside the caller's transaction (see the header for the steps and locks).
 * Throws PushRace when the transaction must be rolled back and the push run again.
 */
export async function appendPush(tx: Queryable, tenant: string, push: PushRequest): Promise<PushOutcome> {
  const streams = [...new Set(push.batches.flatMap((b) => b.appends.map((a) => a.stream)))];
  if (streams.length === 0) return { results: [], inserted: 0 };
  await tx.query(LOCK_STREAMS, [tenant, streams]);

  const heads = new Map<string, number>();
  for (const row of (await tx.query<{ stream: string; version: unknown }>(STREAM_VERSIONS, [tenant, streams])).rows) {
    heads.set(row.stream, toNumber(row.version));
  }
  const ids = push.batches.flatMap((b) => b.appends.flatMap((a) => a.events.map((e) => e.id)));
  const stored = new Map<string, StoredEvent>();
  for (const row of (await tx.query<StoredRow>(STORED_EVENTS, [tenant, ids])).rows) {
    stored.set(row.id, {
      stream: row.stream,
      version: toNumber(row.version),
      position: toNumber(row.global_position),
      type: row.type,
      data: row.data,
      metadata: row.metadata,
      routingKey: row.routing_key,
      timestamp: toNumber(row.timestamp),
      schemaVersion: toNumber(row.schema_version),
    });
  }

  const plan = new Plan(heads);
  const decided = push.batches.map((batch) => decide(batch, stored, plan));
  if (plan.rows.length === 0) {
    return { results: decided.map((d) => (d.kind === 'new' ? okResult(d, new Map()) : d.result)), inserted: 0 };
  }

  const r = plan.rows;
  const { rows: inserted } = await tx.query<{ id: string; global_position: unknown }>(INSERT_EVENTS, [
    tenant,
    push.client,
    r.map((x) => x.id),
    r.map((x) => x.stream),
    r.map((x) => categoryOf(x.stream)),
    r.map((x) => x.version),
    r.map((x) => x.type),
    r.map((x) => x.data),
    r.map((x) => x.metadata),
    r.map((x) => x.routingKey),
    r.map((x) => x.timestamp),
    r.map((x) => x.schemaVersion),
  ]);
  if (inserted.length !== r.length) throw new PushRace();
  const positions = new Map(inserted.map((row) => [row.id, toNumber(row.global_position)]));

  const touched = [...plan.touched];
  await tx.query(UPSERT_STREAMS, [tenant, touched, touched.map((s) => heads.get(s)!)]);
  await tx.query(NOTIFY, [EVENTS_CHANNEL, tenant]);
  return {
    results: decided.map((d) => (d.kind === 'new' ? okResult(d, positions) : d.result)),
    inserted: r.length,
  };
}

// ---------------------------------------------------------------------------------------

type StoredRow = {
  id: string;
  stream: string;
  version: unknown;
  global_position: unknown;
  type: string;
  data: string;
  metadata: string | null;
  routing_key: string | null;
  timestamp: unknown;
  schema_version: unknown;
};

interface StoredEvent {
  stream: string;
  version: number;
  position: number;
  type: string;
  data: string;
  metadata: string | null;
  routingKey: string | null;
  timestamp: number;
  schemaVersion: number;
}

interface NewRow {
  id: string;
  stream: string;
  version: number;
  type: string;
  data: string;
  metadata: string | null;
  routingKey: string | null;
  timestamp: number;
  schemaVersion: number;
}

/** A batch decided to be written: its appends' versions, positions known after the INSERT. */
interface NewBatch {
  kind: 'new';
  appends: { stream: string; version: number; events: { id: string; version: number }[] }[];
}

type Decision = NewBatch | { kind: 'done'; result: PushBatchResult };

/** The push's state while its batches are decided in order. */
class Plan {
  /** Each stream's version, as the accepted batches so far leave it. */
  readonly heads: Map<string, number>;
  /** Streams of batches that did not go through: later batches on them were decided on top. */
  readonly failed = new Set<string>();
  readonly touched = new Set<string>();
  readonly rows: NewRow[] = [];
  constructor(heads: Map<string, number>) {
    this.heads = heads;
  }
}

/**
 * One batch: an exact retry (every event stored as sent) is answered from the store, without
 * an expected-version check; a batch some of whose ids are stored, or stored differently, is
 * rejected; otherwise every append's expected version must hold.
 */
function decide(batch: PushBatch, stored: Map<string, StoredEvent>, plan: Plan): Decision {
  const events = batch.appends.flatMap((a) => a.events);
  const known = events.filter((e) => stored.has(e.id));
  if (known.length > 0) {
    const reason =
      known.length < events.length ? partialRetry(known[0]!.id, stored.get(known[0]!.id)!) : retryMismatch(batch, stored);
    if (reason !== undefined) {
      failBatch(batch, plan);
      return { kind: 'done', result: { status: 'rejected', error: wireError(reason) } };
    }
    return {
      kind: 'done',
      result: {
        status: 'ok',
        appends: batch.appends.map((a) => {
          const at = a.events.map((e) => stored.get(e.id)!);
          return {
            stream: a.stream,
            version: at[at.length - 1]!.version,
            events: a.events.map((e, i) => ({ id: e.id, version: at[i]!.version, serverPosition: at[i]!.position })),
          };
        }),
      },
    };
  }

  const heads = new Map<string, number>();
  const appends: NewBatch['appends'] = [];
  for (const append of batch.appends) {
    const server = plan.heads.get(append.stream) ?? 0;
    const current = heads.get(append.stream) ?? server;
    const cascaded = append.expectedVersion !== 'any' && plan.failed.has(append.stream);
    if (cascaded || !holds(append.expectedVersion, current)) {
      failBatch(batch, plan);
      return {
        kind: 'done',
        result: { status: 'conflict', stream: append.stream, expected: append.expectedVersion, actual: server },
      };
    }
    appends.push({
      stream: append.stream,
      version: current + append.events.length,
      events: append.events.map((e, i) => ({ id: e.id, version: current + i + 1 })),
    });
    heads.set(append.stream, current + append.events.length);
  }
  for (const [stream, version] of heads) {
    plan.heads.set(stream, version);
    plan.touched.add(stream);
  }
  batch.appends.forEach((append, a) =>
    append.events.forEach((e, i) =>
      plan.rows.push({
        id: e.id,
        stream: append.stream,
        version: appends[a]!.events[i]!.version,
        type: e.type,
        data: e.data,
        metadata: e.metadata,
        routingKey: append.routingKey,
        timestamp: e.timestamp,
        schemaVersion: e.schemaVersion,
      }),
    ),
  );
  return { kind: 'new', appends };
}

function failBatch(batch: PushBatch, plan: Plan): void {
  for (const a of batch.appends) plan.failed.add(a.stream);
}

function holds(expected: SyncExpectedVersion, actual: number): boolean {
  return (
    expected === 'any' ||
    (expected === 'no_stream' && actual === 0) ||
    (expected === 'stream_exists' && actual > 0) ||
    expected === actual
  );
}

function okResult(batch: NewBatch, positions: Map<string, number>): PushBatchResult {
  return {
    status: 'ok',
    appends: batch.appends.map((a) => ({
      stream: a.stream,
      version: a.version,
      events: a.events.map((e) => ({ id: e.id, version: e.version, serverPosition: positions.get(e.id)! })),
    })),
  };
}

function partialRetry(id: string, at: StoredEvent): DuplicateEventIdError {
  return new DuplicateEventIdError(
    id,
    `Event id ${id} is already stored (stream "${at.stream}", version ${at.version}) but other events of this batch are not: the batch is not an exact retry`,
  );
}

/** Why a batch whose ids are all stored is not an exact retry of what stored them, if it is not. */
function retryMismatch(batch: PushBatch, stored: Map<string, StoredEvent>): DuplicateEventIdError | undefined {
  for (const append of batch.appends) {
    let previous: number | undefined;
    for (const e of append.events) {
      const at = stored.get(e.id)!;
      const where = `Event id ${e.id} is already stored in stream "${at.stream}" at version ${at.version}`;
      if (at.stream !== append.stream) {
        return new DuplicateEventIdError(e.id, `${where}, not in "${append.stream}": the batch is not an exact retry`);
      }
      if (previous !== undefined && at.version !== previous + 1) {
        return new DuplicateEventIdError(
          e.id,
          `${where}, not right after the batch's previous event (version ${previous}): the batch is not an exact retry`,
        );
      }
      if (
        at.type !== e.type ||
        at.data !== e.data ||
        at.metadata !== e.metadata ||
        at.schemaVersion !== e.schemaVersion ||
        at.timestamp !== e.timestamp ||
        at.routingKey !== append.routingKey
      ) {
        return new DuplicateEventIdError(e.id, `${where} with other content: the batch is not an exact retry`);
      }
      previous = at.version;
    }
  }
  return undefined;
}
