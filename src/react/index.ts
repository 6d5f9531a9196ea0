/**
 * cairndb/react: thin React bindings over a store's own live features (`watch`,
 * `subscribe`, commit notices). React is an optional peer dependency of cairndb, loaded only
 * by this entry.
 */
export { CairnProvider, useStore, type CairnProviderProps } from './cairn-provider.ts';
export { useQuery, useWatch, type WatchState } from './use-query.ts';
export { useStream, type UseStreamOptions } from './use-stream.ts';
export { useAggregate, type AggregateState } from './use-aggregate.ts';
