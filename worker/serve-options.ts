/** The options of `serve`, shared by the worker's entry and the leader it opens. */
import type { Projection } from '../src/core/projection.ts';
import type { UnknownEvents, Upcasters } from '../src/core/upcast.ts';
import type { Endpoint } from '../src/protocol/rpc.ts';

/** Options of `serve`. */
export interface ServeOptions {
  /** Where to listen; the worker's own global scope by default. */
  endpoint?: Endpoint;
  /** SQL read models kept inside the append transaction, rebuilt from the log when new or changed. */
  projections?: readonly Projection[];
  /** How many events one projection rebuild batch applies. Default 500. */
  rebuildBatchSize?: number;
  /** Upcasters for the events projections see (give the pages the same ones in `openStore`). */
  upcasters?: Upcasters;
  /** An event no upcaster can bring up to date fails the projection (the default) or is skipped. */
  unknownEvents?: UnknownEvents;
}
