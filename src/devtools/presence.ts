/**
 * Which other tabs have an inspector open on the same store, over a BroadcastChannel of the
 * inspector's own (`cairn-inspector:<store>`), apart from the store's channels.
 *
 * Each inspector announces itself when it starts (`hello`, which the others answer with
 * `here`), again every few seconds and whenever its tab's role changes, and says `bye` on
 * `pagehide`. A tab that crashed says nothing: it is forgotten once its announcements stop.
 *
 * Each tab also learns its own Web Locks client id (by holding a lock of its own for a
 * moment and reading it back from `navigator.locks.query()`), so that a lock held by a tab
 * (a durable consumer's) can be told to belong to this tab or to a named other one.
 */
import type { Role } from '../client/index.ts';

/** A tab with an inspector open on the store. */
export interface TabInfo {
  /** The inspector's random id. */
  id: string;
  /** Its Web Locks client id, once known. */
  clientId: string | undefined;
  title: string;
  url: string;
  role: Role;
  openedAt: number;
  /** When it last announced itself (this tab's clock). */
  seenAt: number;
}

type PresenceMessage =
  | { kind: 'hello' | 'here'; tab: Omit<TabInfo, 'seenAt'> }
  | { kind: 'bye'; id: string };

const HEARTBEAT_MS = 2_000;
const EXPIRE_MS = 7_000;

/** This tab's inspector among the store's other tabs. */
export class Presence {
  readonly self: TabInfo;
  readonly #others = new Map<string, TabInfo>();
  readonly #listeners = new Set<() => void>();
  readonly #channel: BroadcastChannel | undefined;

  constructor(storeName: string, role: Role, signal: AbortSignal) {
    const now = Date.now();
    this.self = {
      id: randomId(),
      clientId: undefined,
      title: typeof document === 'undefined' ? '' : document.title,
      url: typeof location === 'undefined' ? '' : location.href,
      role,
      openedAt: now,
      seenAt: now,
    };
    this.#channel = typeof BroadcastChannel === 'undefined' ? undefined : new BroadcastChannel(`cairn-inspector:${storeName}`);
    if (this.#channel === undefined) return;
    const channel = this.#channel;
    channel.onmessage = (event: MessageEvent<unknown>) => this.#receive(event.data);
    this.#post('hello');
    const timer = setInterval(() => {
      this.#post('here');
      this.#expire();
    }, HEARTBEAT_MS);
    const onPageHide = (): void => channel.postMessage({ kind: 'bye', id: this.self.id } satisfies PresenceMessage);
    addEventListener('pagehide', onPageHide);
    signal.addEventListener(
      'abort',
      () => {
        clearInterval(timer);
        removeEventListener('pagehide', onPageHide);
        onPageHide();
        channel.close();
      },
      { once: true },
    );
    void ownClientId().then((id) => {
      if (id === undefined || signal.aborted) return;
      this.self.clientId = id;
      this.#post('here');
      this.#changed();
    });
  }

  /** The other tabs, oldest first. */
  others(): TabInfo[] {
    return [...this.#others.values()].sort((a, b) => a.openedAt - b.openedAt);
  }

  /** The tab whose Web Locks client id this is: this one, another, or none known. */
  tabOfClient(clientId: string | undefined): TabInfo | undefined {
    if (clientId === undefined) return undefined;
    if (clientId === this.self.clientId) return this.self;
    return this.others().find((t) => t.clientId === clientId);
  }

  /** Tells the other tabs that this one's role changed. */
  setRole(role: Role): void {
    this.self.role = role;
    this.#post('here');
    this.#changed();
  }

  /** Calls `listener` when a tab comes, goes or changes. */
  onChange(listener: () => void): () => void {
    this.#listeners.add(listener);
    return () => void this.#listeners.delete(listener);
  }

  #post(kind: 'hello' | 'here'): void {
    const { seenAt: _seen, ...tab } = this.self;
    // The title may have changed since the inspector opened.
    if (typeof document !== 'undefined') this.self.title = document.title;
    this.#channel?.postMessage({ kind, tab: { ...tab, title: this.self.title } } satisfies PresenceMessage);
  }

  #receive(data: unknown): void {
    const m = data as PresenceMessage | null;
    if (typeof m !== 'object' || m === null) return;
    if (m.kind === 'bye' && typeof m.id === 'string') {
      if (this.#others.delete(m.id)) this.#changed();
      return;
    }
    if ((m.kind === 'hello' || m.kind === 'here') && typeof m.tab?.id === 'string' && m.tab.id !== this.self.id) {
      this.#others.set(m.tab.id, { ...m.tab, seenAt: Date.now() });
      if (m.kind === 'hello') this.#post('here');
      this.#changed();
    }
  }

  #expire(): void {
    const before = this.#others.size;
    for (const [id, tab] of this.#others) if (Date.now() - tab.seenAt > EXPIRE_MS) this.#others.delete(id);
    if (this.#others.size !== before) this.#changed();
  }

  #changed(): void {
    for (const listener of this.#listeners) listener();
  }
}

/** This page's client id as Web Locks report it, or undefined where there are no Web Locks. */
async function ownClientId(): Promise<string | undefined> {
  const locks = typeof navigator === 'undefined' ? undefined : navigator.locks;
  if (locks === undefined) return undefined;
  const probe = `cairn-inspector-probe:${randomId()}`;
  try {
    return await locks.request(probe, async () => (await locks.query()).held?.find((l) => l.name === probe)?.clientId);
  } catch {
    return undefined;
  }
}

function randomId(): string {
  return typeof crypto !== 'undefined' && 'randomUUID' in crypto ? crypto.randomUUID() : Math.random().toString(36).slice(2);
}
