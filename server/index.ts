/** cairndb/server: the sync server, on PostgreSQL (or an embedded PGlite to try it out). */
export {
  createSyncServer,
  type ListenOptions,
  type SyncServer,
  type SyncServerOptions,
} from './create-sync-server.ts';
export { DEFAULT_TENANT, bearerToken, sharedToken, type Authorize, type AuthorizeRequest, type SyncAccess } from './auth.ts';
export type { CorsOrigins } from './http.ts';
export type { LiveOptions } from './live.ts';
export type { SyncServerLog } from './log.ts';
export { runCli } from './cli.ts';
