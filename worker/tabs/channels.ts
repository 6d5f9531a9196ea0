/**
 * One worker's channels to the others of its store: the store's channel (who leads, the
 * leader's pushes, followers leaving), its own inbox, and an outbox to each worker it
 * talks to, opened when first needed. A leader talks to every follower, and a crashed
 * follower never says bye, so the outboxes are a bounded set, least recently used first out.
 */
import { inboxChannelName, storeChannelName, type TabMessage } from '../../src/protocol/tabs.ts';
import type { TabChannel } from './platform.ts';

/** How many follower inboxes a leader keeps open at once. */
const MAX_OUTBOXES = 32;

/** A worker's channels; every method is a no-op once closed (or when the platform has none). */
export class TabChannels {
  readonly #store: string;
  readonly #open: ((name: string) => TabChannel) | undefined;
  readonly #storeChannel: TabChannel | undefined;
  readonly #inbox: TabChannel | undefined;
  readonly #outboxes = new Map<string, TabChannel>();
  #closed = false;

  constructor(store: string, self: string, open: ((name: string) => TabChannel) | undefined) {
    this.#store = store;
    this.#open = open;
    this.#storeChannel = open?.(storeChannelName(store));
    this.#inbox = open?.(inboxChannelName(store, self));
  }

  /** Listens to the store's channel (`fromInbox` false) and to this worker's inbox (true). */
  listen(listener: (data: unknown, fromInbox: boolean) => void): void {
    this.#storeChannel?.addEventListener('message', (event) => listener(event.data, false));
    this.#inbox?.addEventListener('message', (event) => listener(event.data, true));
  }

  /** Posts to every worker of the store. */
  broadcast(message: TabMessage): void {
    if (!this.#closed) this.#storeChannel?.postMessage(message);
  }

  /** Posts to one worker's inbox. The inbox is looked up now: one open earlier may have been closed meanwhile. */
  send(to: string, message: TabMessage): void {
    if (!this.#closed) this.#outbox(to)?.postMessage(message);
  }

  /** Forgets a worker that said bye. */
  forget(id: string): void {
    this.#outboxes.get(id)?.close();
    this.#outboxes.delete(id);
  }

  close(): void {
    this.#closed = true;
    this.#storeChannel?.close();
    this.#inbox?.close();
    for (const channel of this.#outboxes.values()) channel.close();
    this.#outboxes.clear();
  }

  #outbox(id: string): TabChannel | undefined {
    if (this.#open === undefined) return undefined;
    let channel = this.#outboxes.get(id);
    if (channel === undefined) {
      channel = this.#open(inboxChannelName(this.#store, id));
      if (this.#outboxes.size >= MAX_OUTBOXES) {
        const [oldestId, oldest] = this.#outboxes.entries().next().value!;
        oldest.close();
        this.#outboxes.delete(oldestId);
      }
    } else {
      this.#outboxes.delete(id);
    }
    this.#outboxes.set(id, channel);
    return channel;
  }
}
