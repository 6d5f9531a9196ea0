/** cairndb: the page API. */
export { DEFAULT_LEADER_TIMEOUT, openStore, type OpenStoreOptions } from './open-store.ts';
export { DEFAULT_QUERY_TIMEOUT } from '../core/limits.ts';
export { Store } from './store.ts';
export { PERSIST_TIMEOUT, type StorageEstimate } from './device-storage.ts';
export type { ExportOptions, ImportOptions, ImportProgress, ImportSource } from './transfer.ts';
export type { ImportResult } from '../core/import-events.ts';
export type { SubscribeOptions, Subscription } from './subscription.ts';
export type { Consumer, ConsumerContext, ConsumerOptions, ProcessManager, ProcessManagerOptions } from './consumer.ts';
export type { Watch, WatchOptions } from './watch.ts';
export type { FollowStart } from './follow.ts';
export type { ConsumerInfo, ConsumerStart, DeadLetter } from '../core/checkpoints.ts';
export type { Projection, ProjectionDb, ProjectionProgress, ProjectionSetupDb } from '../core/projection.ts';
export type { Row, SqlValue } from '../core/driver.ts';
export {
  Aggregate,
  type AggregateDefinition,
  type AppendedEvent,
  type HandleOptions,
  type HandleResult,
  type LoadResult,
  type AggregateCommand,
} from '../domain/aggregate.ts';
export {
  type ProcessManagerDefinition,
} from '../domain/process-manager.ts';
export type { UnknownEvents, Upcasters } from '../core/upcast.ts';
export {
  CairnError,
  CommandFailedError,
  DuplicateEventIdError,
  ErrorCode,
  InternalError,
  InvalidArgumentError,
  InvalidEventError,
  InvalidStreamError,
  NoLeaderError,
  ProjectionFailedError,
  QueryTimeoutError,
  QuotaExceededError,
  ReadOnlyQueryError,
  StorageUnavailableError,
  StoreClosedError,
  SyncRejectedError,
  SyncUnavailableError,
  UnauthorizedError,
  UpcastError,
  VersionConflictError,
  isCairnError,
  isCommandFailed,
  isDuplicateEventId,
  isInternal,
  isInvalidArgument,
  isInvalidEvent,
  isInvalidStream,
  isNoLeader,
  isProjectionFailed,
  isQueryTimeout,
  isQuotaExceeded,
  isReadOnlyQuery,
  isStorageUnavailable,
  isStoreClosed,
  isSyncRejected,
  isSyncUnavailable,
  isUnauthorized,
  isUpcastFailed,
  isVersionConflict,
  type CommandDetail,
  type ErrorOf,
} from '../core/errors.ts';
export { ExpectedVersion } from '../core/types.ts';
export type { Role, SyncStateName, SyncStatus } from '../protocol/api.ts';
export type { Conflict, ConflictEvent, Redecided, StoreSync } from './sync-handle.ts';
export type { CommitNotice } from '../core/notices.ts';
export type {
  AppendManyEntry,
  AppendOptions,
  AppendResult,
  DefaultEventMap,
  Durability,
  Edge,
  EventFilter,
  EventInput,
  EventInputOf,
  EventMap,
  EventsOptions,
  Metadata,
  Page,
  PageArgs,
  ReadStreamOptions,
  RecordedEvent,
  RecordedEventOf,
  StorageKind,
  StorageOption,
} from '../core/types.ts';
