/**
 * Commit notices: after each commit, whoever follows the log (subscriptions, watches, other
 * tabs) is told what changed. A notice is only a wake-up hint; readers pull the events.
 *
 * The notices of one drain of the commit queue are coalesced into one, sent in a microtask
 * after its COMMIT and before any caller's promise settles, so a listener that reads sees
 * the commit.
 */

/** What one commit changed, for whoever follows the log. Only a wake-up hint: readers pull the events themselves. */
export interface CommitNotice {
  /** The newest position after the commit. */
  head: number;
  /** The streams appended to. */
  streams: string[];
  /** The event types appended. */
  types: string[];
  /**
   * The tables written (lower-cased): `events`, projection tables, Cairn's own bookkeeping.
   * `'*'` stands for every table, for a notice that cannot know (a resync after a handover).
   */
  tables: string[];
  /** How long the transaction took, BEGIN to COMMIT, in ms (0 for a notice that is not of one commit). */
  commitMs: number;
  /**
   * How many transactions committed since the previous notice: the group commits this notice
   * stands for (0 for a notice that is not of a commit, such as a resync after a handover).
   */
  transactions: number;
  /** True when a local write of it waits to be pushed to the sync server. */
  queued?: boolean;
}

/** What a committed write adds to its drain's notice. */
export interface NoticePart {
  head: number;
  streams?: readonly string[];
  types?: readonly string[];
  queued?: boolean;
}

/** In a notice's `tables`: any table may have changed. */
export const ANY_TABLE = '*';

/** Collects the parts of one drain's notice and sends it to the listeners. */
export class CommitNotices {
  readonly #listeners = new Set<(notice: CommitNotice) => void>();
  #pending: { head: number; streams: Set<string>; types: Set<string>; tables: Set<string>; queued: boolean } | undefined;
  #commitMs = 0;
  #transactions = 0;

  /** Records a committed transaction and how long it took; the next notice carries both. */
  timed(ms: number): void {
    this.#commitMs = ms;
    this.#transactions++;
  }

  /** Calls `listener` after every commit that changed something; returns an unsubscribe function. */
  listen(listener: (notice: CommitNotice) => void): () => void {
    this.#listeners.add(listener);
    return () => void this.#listeners.delete(listener);
  }

  /** Adds a committed write to the drain's notice; the notice goes out in a microtask. */
  note(part: NoticePart, tables: readonly string[]): void {
    if (this.#listeners.size === 0) return;
    let pending = this.#pending;
    if (pending === undefined) {
      pending = { head: 0, streams: new Set(), types: new Set(), tables: new Set(), queued: false };
      this.#pending = pending;
      queueMicrotask(() => this.#send());
    }
    pending.head = Math.max(pending.head, part.head);
    for (const s of part.streams ?? []) pending.streams.add(s);
    for (const t of part.types ?? []) pending.types.add(t);
    for (const t of tables) pending.tables.add(t);
    if (part.queued === true) pending.queued = true;
  }

  #send(): void {
    const p = this.#pending!;
    this.#pending = undefined;
    const transactions = this.#transactions;
    this.#transactions = 0;
    const notice: CommitNotice = {
      head: p.head,
      streams: [...p.streams],
      types: [...p.types],
      tables: [...p.tables],
      commitMs: this.#commitMs,
      transactions,
      ...(p.queued ? { queued: true } : {}),
    };
    for (const listener of this.#listeners) listener(notice);
  }
}
