/**
 * `useStream`: the events matching a filter, as they arrive, on `store.subscribe` (catch-up
 * from `from`, then live, in global order). The newest `limit` are kept. Events that
 * arrive together (a catch-up, a burst of appends) are handed to React as one update.
 */
import { useEffect, useState } from 'react';
import type { FollowStart } from '../client/follow.ts';
import type { DefaultEventMap, EventFilter, EventMap, RecordedEventOf } from '../core/types.ts';
import { useStore } from './cairn-provider.ts';

/** Options of `useStream`. */
export interface UseStreamOptions {
  /** Where to start, as for `store.subscribe`: `'start'` (the default), `'end'` (only new events) or after a position. */
  from?: FollowStart;
  /** How many of the newest events to keep. Default 1,000. */
  limit?: number;
}

const NONE: never[] = [];
/** How long events wait to be handed to React together, in ms. */
const BATCH_MS = 16;

/**
 * The events matching `filter`, oldest first, updated as new ones commit (in any tab). A
 * subscription that fails throws its error to the nearest error boundary.
 * @example
 * const added = useStream<ShopEvents>({ types: ['ItemAdded'] }, { from: 'end', limit: 20 });
 */
export function useStream<E extends EventMap = DefaultEventMap>(
  filter: EventFilter = {},
  options: UseStreamOptions = {},
): RecordedEventOf<E>[] {
  const store = useStore<E>();
  const from = options.from ?? 'start';
  const limit = options.limit ?? 1_000;
  // One subscription per distinct filter and start, however the objects are made on each render.
  const key = JSON.stringify([filter, from, limit]);
  const [state, setState] = useState<{ key: string; events: RecordedEventOf<E>[]; error?: unknown }>({ key, events: NONE });

  useEffect(() => {
    let buffer: RecordedEventOf<E>[] = [];
    let timer: ReturnType<typeof setTimeout> | undefined;
    const flush = (): void => {
      timer = undefined;
      const batch = buffer;
      buffer = [];
      setState((s) => {
        const events = s.key === key ? [...s.events, ...batch] : batch;
        return { key, events: events.length > limit ? events.slice(events.length - limit) : events };
      });
    };
    const [f] = JSON.parse(key) as [EventFilter];
    const sub = store.subscribe(
      f,
      (event) => {
        buffer.push(event);
        timer ??= setTimeout(flush, BATCH_MS);
      },
      { from },
    );
    sub.done.catch((error: unknown) => setState((s) => ({ ...s, key, error })));
    return () => {
      sub.close();
      clearTimeout(timer);
    };
    // `key` stands for filter, from and limit.
  }, [store, key]); // eslint-disable-line react-hooks/exhaustive-deps

  if (state.key !== key) return NONE;
  if (state.error !== undefined) throw state.error;
  return state.events;
}
