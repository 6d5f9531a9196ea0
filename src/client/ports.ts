/**
 * The ports of the page side: what a store, and the runners on it (subscriptions, watches,
 * consumers), need of wherever the engine runs, a worker or this thread. The store and the
 * runners import these; none of them imports another.
 */
import type { CommitNotice } from '../core/notices.ts';
import type { PushMessages, Role, WorkerApi } from '../protocol/api.ts';
import type { Remote } from '../protocol/rpc.ts';

/** The engine operations a store calls, wherever they run. */
export type Backend = Remote<Omit<WorkerApi, 'open'>>;

/** Listens for something pushed; returns a function that stops listening. */
export type Feed<T> = (listener: (value: T) => void) => () => void;

/** Listens for commits; returns a function that stops listening. */
export type CommitFeed = Feed<CommitNotice>;

/** Listens for role changes of this tab's worker; returns a function that stops listening. */
export type RoleFeed = Feed<Role>;

/** Listens for one kind of worker push; returns a function that stops listening. */
export type PushFeed = <K extends keyof PushMessages>(
  name: K,
  listener: (data: PushMessages[K]) => void,
) => () => void;


/** A feed and the function that feeds it. */
export function createFeed<T>(): { feed: Feed<T>; emit: (value: T) => void } {
  const listeners = new Set<(value: T) => void>();
  return {
    feed: (listener) => {
      listeners.add(listener);
      return () => void listeners.delete(listener);
    },
    emit: (value) => {
      for (const listener of listeners) listener(value);
    },
  };
}
