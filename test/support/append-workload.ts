/**
 * Random append workloads through the engine API, the record of what each call came to, and
 * the check of a log against that record.
 *
 * A call is one `append` or one `appendMany` (a group: its events commit together or not at
 * all). Calls are issued in rounds: every call of a round is made before any is awaited, so
 * the commit queue runs them in one transaction, each in its own savepoint. Streams, event
 * counts, payloads and expected versions are random; expected versions come from what has
 * been acknowledged so far, so calls of one round on the same stream conflict. Ids are
 * random ULIDs from the workload's seed, so a run (and every file operation under it) repeats
 * exactly for the same seed.
 *
 * A call ends up:
 * - acknowledged: it resolved; its results give every event's version and position;
 * - rejected: it failed with an error that says it wrote nothing (a version conflict, or a
 *   storage error the engine reported);
 * - cut: it was in flight when power was lost; it may or may not have reached the disk.
 */
import type { Engine } from '../../src/core/engine.ts';
import { encodeAppend } from '../../src/core/encode.ts';
import { isCairnError } from '../../src/core/errors.ts';
import { MAX_PAGE_SIZE } from '../../src/core/limits.ts';
import type { AppendRequest, StoredEvent } from '../../src/core/records.ts';
import type { AppendResult, ExpectedVersion } from '../../src/core/types.ts';
import type { Random } from './random.ts';

/** What became of a call. */
export type Outcome = 'pending' | 'acknowledged' | 'rejected' | 'cut';

/** One append or appendMany call and its outcome. */
export interface Call {
  /** The call's number in issue order, from 0. */
  readonly seq: number;
  readonly requests: readonly AppendRequest[];
  /** True for appendMany. */
  readonly many: boolean;
  outcome: Outcome;
  /** One result per request, when acknowledged. */
  results: AppendResult[] | undefined;
  error: unknown;
}

/** The shape of a workload. */
export interface WorkloadOptions {
  /** How many streams calls pick from. */
  streams: number;
  /** The most events of one request. */
  maxEvents: number;
  /** The longest string in an event's data. */
  maxDataChars: number;
  /** The share of calls that are appendMany over 2 or 3 streams. */
  manyShare: number;
}

const DEFAULT_OPTIONS: WorkloadOptions = { streams: 12, maxEvents: 6, maxDataChars: 300, manyShare: 0.25 };

/** Builds random calls, issues them on an engine, and records their outcomes and the commits seen. */
export class AppendWorkload {
  readonly calls: Call[] = [];
  /** The head after each commit the engine announced, in order: the transaction boundaries. */
  readonly commitHeads: number[] = [];
  readonly #random: Random;
  readonly #options: WorkloadOptions;
  /** Each stream's version by acknowledged calls. */
  readonly #known = new Map<string, number>();

  constructor(random: Random, options: Partial<WorkloadOptions> = {}) {
    this.#random = random;
    this.#options = { ...DEFAULT_OPTIONS, ...options };
  }

  /** Records the engine's commit notices; returns the unsubscribe function. */
  follow(engine: Engine): () => void {
    return engine.onCommit((notice) => this.commitHeads.push(notice.head));
  }

  /** Builds `size` calls from what has been acknowledged so far, without issuing them. */
  round(size: number): Call[] {
    const calls: Call[] = [];
    for (let i = 0; i < size; i++) {
      const many = this.#random.chance(this.#options.manyShare);
      const streams = this.#random.shuffle(this.#streamNames()).slice(0, many ? this.#random.between(2, 3) : 1);
      const requests = streams.map((stream) => this.request(stream));
      const call: Call = { seq: this.calls.length, requests, many, outcome: 'pending', results: undefined, error: undefined };
      this.calls.push(call);
      calls.push(call);
    }
    return calls;
  }

  /** One random request on `stream`, with an expected version that may or may not hold. */
  request(stream: string, events = this.#random.between(1, this.#options.maxEvents), dataChars?: number): AppendRequest {
    const r = this.#random;
    const inputs = Array.from({ length: events }, () => ({
      id: randomUlid(r),
      type: r.pick(EVENT_TYPES),
      data: { n: r.int(1_000_000), text: randomText(r, dataChars ?? r.between(0, this.#options.maxDataChars)) },
    }));
    return encodeAppend(stream, inputs, { expectedVersion: this.#expected(stream) }, unusedIds, Number.MAX_SAFE_INTEGER);
  }

  /** Adds a call built by the test, to be issued with `run`. */
  add(requests: AppendRequest[], many = requests.length > 1): Call {
    const call: Call = { seq: this.calls.length, requests, many, outcome: 'pending', results: undefined, error: undefined };
    this.calls.push(call);
    return call;
  }

  /**
   * Issues `calls` all at once and waits for every one to settle. `classify` names the outcome
   * of a failed call (rejected or cut); calls that resolve are acknowledged.
   */
  async run(engine: Engine, calls: readonly Call[], classify: (error: unknown) => Outcome): Promise<void> {
    const settled = calls.map(async (call) => {
      try {
        const results = call.many ? await engine.appendMany([...call.requests]) : [await engine.append(call.requests[0]!)];
        call.outcome = 'acknowledged';
        call.results = results;
        for (const result of results) this.#known.set(result.stream, result.version);
      } catch (e) {
        call.outcome = classify(e);
        call.error = e;
      }
    });
    await Promise.all(settled);
  }

  #streamNames(): string[] {
    return Array.from({ length: this.#options.streams }, (_, i) => `${i % 3 === 0 ? 'cart' : 'order'}-${i}`);
  }

  #expected(stream: string): ExpectedVersion {
    const known = this.#known.get(stream) ?? 0;
    const r = this.#random.next();
    if (r < 0.4) return 'any';
    if (r < 0.7) return known; // may be stale: another call of the round may append first
    if (r < 0.8) return known === 0 ? 'no_stream' : 'stream_exists';
    if (r < 0.9) return known === 0 ? 'stream_exists' : 'no_stream'; // conflicts
    return known + 1 + this.#random.int(3); // conflicts
  }
}

/** What a log check found. */
export interface LogReport {
  /** Events read from the log and compared with the record. */
  eventsChecked: number;
  /** Acknowledged calls not (or not wholly) in the log. */
  lostAcknowledged: number;
  /** Calls that were not acknowledged and are in the log whole. */
  survivedUnacknowledged: number;
  /** Everything wrong, lost acknowledged calls included, as readable lines. */
  violations: string[];
}

/** Whether lost acknowledged calls are a violation (strict) or allowed as a tail of the commit order (relaxed). */
export type Expectation = 'strict' | 'relaxed';

/** Reads the whole log through the engine, in global order. */
export async function readLog(engine: Engine): Promise<StoredEvent[]> {
  const events: StoredEvent[] = [];
  for (let after = 0; ; ) {
    const batch = await engine.readFrom({}, after, MAX_PAGE_SIZE);
    events.push(...batch.events);
    if (batch.events.length < MAX_PAGE_SIZE) return events;
    after = batch.events.at(-1)!.position;
  }
}

/**
 * Checks a log against the record of calls:
 * - positions run 1..head without a gap, and each stream's versions 1..n;
 * - every event belongs to a call that was not rejected, with its stream, type and data;
 * - every call is in the log whole (at consecutive versions and positions) or not at all;
 * - an acknowledged call is where its results put it; under 'strict' every one is there,
 *   under 'relaxed' the ones missing are exactly those past the surviving head;
 * - the surviving head is a transaction boundary the engine announced, or past the last one
 *   with only unacknowledged calls beyond it (a commit that reached the disk unacknowledged).
 */
export function checkLog(
  calls: readonly Call[],
  events: readonly StoredEvent[],
  commitHeads: readonly number[],
  expectation: Expectation,
): LogReport {
  const violations: string[] = [];
  const byId = new Map<string, StoredEvent>();
  events.forEach((e, i) => {
    if (e.position !== i + 1) violations.push(`position ${i + 1} holds position ${e.position}: a gap in the log`);
    byId.set(e.id, e);
  });
  const head = events.length;
  const streamVersions = new Map<string, number>();
  for (const e of events) {
    const v = (streamVersions.get(e.stream) ?? 0) + 1;
    if (e.version !== v) violations.push(`stream ${e.stream} jumps from version ${v - 1} to ${e.version} at position ${e.position}`);
    streamVersions.set(e.stream, e.version);
  }

  const owner = new Map<string, Call>();
  let lostAcknowledged = 0;
  let survivedUnacknowledged = 0;
  for (const call of calls) {
    const expected = call.requests.flatMap((req) => req.events.map((e) => ({ req, e })));
    const present = expected.filter(({ e }) => byId.has(e.id));
    for (const { e } of expected) owner.set(e.id, call);
    const name = `call ${call.seq} (${call.outcome}${call.many ? ', appendMany' : ''}, ${expected.length} events)`;
    if (present.length !== 0 && present.length !== expected.length) {
      violations.push(`${name} is in the log in part: ${present.length} of ${expected.length} events`);
    }
    if (call.outcome === 'rejected' && present.length > 0) {
      violations.push(`${name} was rejected (${describeError(call.error)}) but ${present.length} of its events are in the log`);
    }
    for (const { req, e } of present) {
      const stored = byId.get(e.id)!;
      if (stored.stream !== req.stream || stored.type !== e.type || stored.data !== e.data) {
        violations.push(`${name}: event ${e.id} is stored as ${stored.stream}/${stored.type} with other data`);
      }
    }
    if (call.outcome === 'acknowledged') {
      const { missing, misplaced } = compareWithResults(call, byId);
      violations.push(...misplaced.map((m) => `${name}: ${m}`));
      if (missing > 0) {
        const first = firstPosition(call);
        if (expectation === 'strict') {
          lostAcknowledged++;
          violations.push(`${name} was acknowledged at positions ${first}..${lastPosition(call)} and ${missing} of its events are lost`);
        } else if (first <= head) {
          violations.push(`${name} was acknowledged at ${first}..${lastPosition(call)} and is lost, while the log survives to ${head}: not a prefix`);
        } else {
          lostAcknowledged++;
        }
      }
    } else if (present.length === expected.length && expected.length > 0) {
      survivedUnacknowledged++;
      checkConsecutive(call, byId, name, violations);
    }
  }
  for (const e of events) {
    if (!owner.has(e.id)) violations.push(`event ${e.id} at position ${e.position} was never appended`);
  }

  const lastBoundary = commitHeads.length === 0 ? 0 : Math.max(...commitHeads);
  if (head > lastBoundary) {
    for (const e of events.slice(lastBoundary)) {
      if (owner.get(e.id)?.outcome === 'acknowledged') violations.push(`position ${e.position} is past the last announced commit, yet acknowledged`);
    }
  } else if (head !== 0 && !commitHeads.includes(head)) {
    violations.push(`the log ends at ${head}, inside a transaction (announced boundaries: ${boundariesAround(commitHeads, head)})`);
  }
  return { eventsChecked: events.length, lostAcknowledged, survivedUnacknowledged, violations };
}

/** A short readable form of an error. */
export function describeError(e: unknown): string {
  if (isCairnError(e)) return `${e.code}: ${e.message}`;
  return e instanceof Error ? `${e.name}: ${e.message}` : String(e);
}

/** A random ULID: any 128 bits in Crockford's base 32, as the engine accepts them. */
export function randomUlid(random: Random): string {
  let id = CROCKFORD[random.int(8)]!; // the first character carries only 3 bits
  for (let i = 1; i < 26; i++) id += CROCKFORD[random.int(32)]!;
  return id;
}

const CROCKFORD = '0123456789ABCDEFGHJKMNPQRSTVWXYZ';
const EVENT_TYPES = ['ItemAdded', 'ItemRemoved', 'CheckedOut', 'Shipped'];
const TEXT = 'abcdefghijklmnopqrstuvwxyz ABCDEFGHIJKLMNOPQRSTUVWXYZ 0123456789 éèàü';

/** Every event of a workload carries its own id, so the id factory is never asked. */
function unusedIds(): string {
  throw new Error('workload events carry their ids');
}

function randomText(random: Random, length: number): string {
  let s = '';
  for (let i = 0; i < length; i++) s += TEXT[random.int(TEXT.length)];
  return s;
}

/** How many of an acknowledged call's events are missing, and those stored elsewhere than its results say. */
function compareWithResults(call: Call, byId: Map<string, StoredEvent>): { missing: number; misplaced: string[] } {
  let missing = 0;
  const misplaced: string[] = [];
  call.requests.forEach((req, r) => {
    const result = call.results![r]!;
    const n = req.events.length;
    req.events.forEach((e, i) => {
      const stored = byId.get(e.id);
      if (stored === undefined) {
        missing++;
        return;
      }
      const version = result.version - n + 1 + i;
      const position = result.position - n + 1 + i;
      if (stored.version !== version || stored.position !== position || result.ids[i] !== e.id) {
        misplaced.push(`event ${e.id} was acknowledged at v${version}/p${position}, stored at v${stored.version}/p${stored.position}`);
      }
    });
  });
  return { missing, misplaced };
}

/** An unacknowledged call found whole must still be one unit: consecutive versions and positions. */
function checkConsecutive(call: Call, byId: Map<string, StoredEvent>, name: string, violations: string[]): void {
  let previous: StoredEvent | undefined;
  for (const req of call.requests) {
    let version: number | undefined;
    for (const e of req.events) {
      const stored = byId.get(e.id)!;
      if (version !== undefined && stored.version !== version + 1) violations.push(`${name}: versions not consecutive in ${req.stream}`);
      if (previous !== undefined && stored.position !== previous.position + 1) violations.push(`${name}: positions not consecutive`);
      version = stored.version;
      previous = stored;
    }
  }
}

function firstPosition(call: Call): number {
  const r = call.results![0]!;
  return r.position - call.requests[0]!.events.length + 1;
}

function lastPosition(call: Call): number {
  return call.results!.at(-1)!.position;
}

function boundariesAround(heads: readonly number[], head: number): string {
  const below = heads.filter((h) => h < head).at(-1);
  const above = heads.find((h) => h > head);
  return `${below ?? 0} and ${above ?? 'none'}`;
}
