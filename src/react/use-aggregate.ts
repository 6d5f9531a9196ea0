/**
 * `useAggregate`: one entity of an aggregate, its state and version kept current, and a
 * `handle` that sends it commands. The state is `aggregate.load(id)` (snapshot plus tail),
 * loaded again after each commit that appended to the entity's stream, from any tab (the
 * commit notice names the streams). `handle` is `aggregate.handle`: its result is shown at
 * once, before the notice of its own commit comes back.
 *
 * Give the hook the same definition object on every render (define it at module level):
 * the aggregate made from it is kept per store and definition, and one aggregate object
 * runs one entity's commands one after another.
 */
import { useCallback, useSyncExternalStore } from 'react';
import type {
  Aggregate,
  AggregateDefinition,
  DefaultEventMap,
  EventMap,
  HandleOptions,
  HandleResult,
  LoadResult,
  Store,
} from '../client/index.ts';
import { useStore } from './cairn-provider.ts';
import { resourceOf } from './live-resource.ts';

/** What `useAggregate` returns. */
export interface AggregateState<S, C, E extends EventMap = DefaultEventMap> {
  state: S;
  /** The entity's stream version (0 before its first event). */
  version: number;
  /** Decides on a command and appends its events (see `Aggregate.handle`). */
  handle(command: C, options?: HandleOptions): Promise<HandleResult<S, E>>;
}

/**
 * One entity's state, live, and its command handler; suspends until the state is loaded.
 * @example
 * const { state, handle } = useAggregate(cartDefinition, '42');
 * <button onClick={() => handle({ kind: 'add', sku: 'A1', qty: 1 })}>Add ({Object.keys(state.items).length})</button>
 */
export function useAggregate<S, C, E extends EventMap = DefaultEventMap>(
  definition: AggregateDefinition<S, C, E>,
  id: string,
): AggregateState<S, C, E> {
  const store = useStore<E>();
  const aggregate = aggregateOf(store, definition);
  const resource = resourceOf<LoadResult<S>>(
    store,
    `aggregate\u0000${definitionId(definition)}\u0000${id}`,
    (emit, fail) => {
      const stream = aggregate.streamOf(id);
      let dirty = true;
      let running = false;
      let stopped = false;
      const pump = async (): Promise<void> => {
        if (running) return;
        running = true;
        try {
          while (dirty && !stopped) {
            dirty = false;
            const loaded = await aggregate.load(id);
            if (!stopped) emit(loaded);
          }
        } catch (e) {
          fail(e);
        } finally {
          running = false;
        }
      };
      // Listening before the first load: a commit during it marks the state dirty, and it loads again.
      const off = store.onCommit((notice) => {
        if (notice.streams.includes(stream) || notice.tables.includes('*')) {
          dirty = true;
          void pump();
        }
      });
      void pump();
      return () => {
        stopped = true;
        off();
      };
    },
    // A load that started before a newer commit may finish after it: never step back.
    (current, next) => next.version >= current.version,
  );
  const snapshot = useSyncExternalStore(resource.subscribe, resource.snapshot, resource.snapshot);
  const handle = useCallback(
    async (command: C, options?: HandleOptions) => {
      const result = await aggregate.handle(id, command, options);
      resource.set({ state: result.state, version: result.version });
      return result;
    },
    [aggregate, id, resource],
  );
  if (snapshot.status === 'failed') throw resource.takeError();
  if (snapshot.status === 'loading') throw resource.ready;
  return { state: snapshot.value.state, version: snapshot.value.version, handle };
}

const aggregates = new WeakMap<object, WeakMap<object, Aggregate<unknown, unknown, EventMap>>>();
const ids = new WeakMap<object, number>();
let nextId = 1;

function aggregateOf<S, C, E extends EventMap>(store: Store<E>, definition: AggregateDefinition<S, C, E>): Aggregate<S, C, E> {
  let byDefinition = aggregates.get(store);
  if (byDefinition === undefined) aggregates.set(store, (byDefinition = new WeakMap()));
  let aggregate = byDefinition.get(definition) as Aggregate<S, C, E> | undefined;
  if (aggregate === undefined) {
    aggregate = store.aggregate(definition);
    byDefinition.set(definition, aggregate as unknown as Aggregate<unknown, unknown, EventMap>);
  }
  return aggregate;
}

function definitionId(definition: object): number {
  let id = ids.get(definition);
  if (id === undefined) ids.set(definition, (id = nextId++));
  return id;
}
