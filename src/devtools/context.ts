/**
 * What the inspector's views share: the store they inspect (only the part of its API they
 * use, so a store of any event map fits), the consumers the app registered, the commit
 * statistics gathered since mounting, the other tabs' inspectors, and navigation.
 */
import type { Consumer } from '../client/consumer.ts';
import type { EventFilter } from '../core/types.ts';
import type { CommitStats } from './commit-stats.ts';
import type { InspectedStore } from './inspected-store.ts';
import type { Presence } from './presence.ts';

export type { InspectedStore } from './inspected-store.ts';

/** The inspector's views, in the order of its tabs. */
export const VIEWS = ['log', 'streams', 'sql', 'projections', 'consumers', 'tabs', 'activity', 'storage'] as const;

/** One of the inspector's views. */
export type InspectorView = (typeof VIEWS)[number];

/** Where the log view should go when another view links to it. */
export interface LogTarget {
  filter?: EventFilter;
  /** Only the events of this correlation id. */
  correlationId?: string;
  /** Show this event's details (by id). */
  eventId?: string;
}

/** The consumers the app registered with the inspector, by name. */
export interface ConsumerRegistry {
  get(name: string): Consumer | undefined;
  /** Calls `listener` when one is registered or removed. */
  onChange(listener: () => void): () => void;
}

/** What every view gets. */
export interface InspectorContext {
  readonly store: InspectedStore;
  readonly consumers: ConsumerRegistry;
  readonly stats: CommitStats;
  readonly presence: Presence;
  /** Aborts when the inspector closes. */
  readonly signal: AbortSignal;
  /** This tab's role since the inspector opened: the first entry, then each change. */
  readonly roles: readonly { at: number; role: string }[];
  /** Opens the log view at a filter, a correlation or an event. */
  openLog(target: LogTarget): void;
}

/** A view: built once when first opened, then shown and hidden as tabs change. */
export interface View {
  readonly element: HTMLElement;
  /** Starts its live updates. */
  show(): void;
  /** Stops them while another view is open. */
  hide(): void;
}
