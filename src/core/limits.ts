/** Limits that bound what one append may carry. */

/** The longest stream name, in UTF-16 code units. */
export const MAX_STREAM_LENGTH = 200;
/** The longest event type name. */
export const MAX_TYPE_LENGTH = 200;
/** The default upper bound on one event's data plus metadata, in UTF-8 bytes. */
export const DEFAULT_MAX_EVENT_BYTES = 1024 * 1024;
/** The most events one page of `read` may return. */
export const MAX_PAGE_SIZE = 10_000;
/** The page size of `read` when neither `first` nor `last` is given. */
export const DEFAULT_PAGE_SIZE = 100;
/** How many events one projection rebuild batch applies: the longest an append waits behind a rebuild. */
export const DEFAULT_REBUILD_BATCH = 500;
/** The most events one append (one stream's part of a call) may carry. */
export const MAX_EVENTS_PER_APPEND = 10_000;
/** The most bytes of data and metadata one append may carry, whatever `maxEventBytes` is. */
export const MAX_APPEND_BYTES = 64 * 1024 * 1024;
/** The most event types one filter may name. */
export const MAX_FILTER_TYPES = 100;
/** The largest `maxEventBytes` a store accepts. */
export const MAX_EVENT_BYTES_LIMIT = 16 * 1024 * 1024;
/** How deep event data may nest. */
export const MAX_JSON_DEPTH = 256;
/** The time budget of a query (and of each run of a watch) when none is given, in ms. */
export const DEFAULT_QUERY_TIMEOUT = 5000;
