/**
 * Appends per second and commit latency, gathered from the store's commit notices from the
 * moment the inspector is mounted (so the chart has a history when it is first opened).
 *
 * A notice carries the new head and its transaction's `commitMs`; the events it stands for
 * are the difference from the previous head. Notices come from whichever tab committed, so
 * these are the store's figures, not this tab's. A notice after a leader handover
 * (`tables: ['*']`) counts the events it reveals but has no transaction time.
 */
import type { InspectedStore } from './inspected-store.ts';

/** The figures of one second. */
export interface SecondStats {
  /** The second, in seconds since the epoch. */
  t: number;
  events: number;
  commits: number;
  sumMs: number;
  maxMs: number;
}

/** The chart's series over the window, one entry per second, oldest first. */
export interface StatsSeries {
  t: number[];
  events: number[];
  /** Mean commit time in ms; null for a second without commits. */
  meanMs: (number | null)[];
  maxMs: (number | null)[];
}

/** Commit statistics of a store, kept for the last `window` seconds. */
export class CommitStats {
  readonly window: number;
  /** Events and commits seen since mounting. */
  readonly totals = { events: 0, commits: 0, maxMs: 0, since: Date.now() };
  readonly #seconds = new Map<number, SecondStats>();
  #head: number | undefined;

  constructor(store: InspectedStore, signal: AbortSignal, window = 120) {
    this.window = window;
    const off = store.onCommit((notice) => {
      const previous = this.#head;
      this.#head = Math.max(previous ?? 0, notice.head);
      // Before the head is known, a notice only sets it: its events cannot be told apart.
      if (previous === undefined) return;
      const resync = notice.tables.includes('*');
      this.#add(Math.max(0, notice.head - previous), resync ? undefined : notice.commitMs);
    });
    signal.addEventListener('abort', off, { once: true });
    store.head().then(
      (head) => {
        if (this.#head === undefined) this.#head = head;
      },
      () => {
        // A store that cannot say its head yet: the first notice sets it.
      },
    );
  }

  /** The last `window` seconds, zero-filled, ending with the current second. */
  series(now = Date.now()): StatsSeries {
    const end = Math.floor(now / 1000);
    const out: StatsSeries = { t: [], events: [], meanMs: [], maxMs: [] };
    for (let t = end - this.window + 1; t <= end; t++) {
      const s = this.#seconds.get(t);
      out.t.push(t);
      out.events.push(s?.events ?? 0);
      out.meanMs.push(s !== undefined && s.commits > 0 ? s.sumMs / s.commits : null);
      out.maxMs.push(s !== undefined && s.commits > 0 ? s.maxMs : null);
    }
    return out;
  }

  /** The figures of the second `t` (seconds since the epoch), if anything committed in it. */
  second(t: number): SecondStats | undefined {
    return this.#seconds.get(t);
  }

  #add(events: number, commitMs: number | undefined): void {
    const t = Math.floor(Date.now() / 1000);
    let s = this.#seconds.get(t);
    if (s === undefined) {
      s = { t, events: 0, commits: 0, sumMs: 0, maxMs: 0 };
      this.#seconds.set(t, s);
      for (const old of this.#seconds.keys()) if (old <= t - this.window) this.#seconds.delete(old);
    }
    s.events += events;
    this.totals.events += events;
    if (commitMs !== undefined) {
      s.commits++;
      s.sumMs += commitMs;
      s.maxMs = Math.max(s.maxMs, commitMs);
      this.totals.commits++;
      this.totals.maxMs = Math.max(this.totals.maxMs, commitMs);
    }
  }
}
