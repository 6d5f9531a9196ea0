/**
 * The sync server: the HTTP endpoints of `src/sync/protocol.ts` over PostgreSQL.
 *
 * - Stateless over the database: any number of instances can serve one database behind a
 *   load balancer. Order, versions and idempotency are decided in PostgreSQL (see
 *   `store/append.ts`); live wake-ups cross instances through LISTEN/NOTIFY (`live.ts`).
 * - Every request is authorized first (401), then its body is read within a size limit
 *   (413), parsed (415, 400) and checked against the caller's rights (403) before anything
 *   is written. No input can crash the process: every failure becomes an error body.
 * - `close()` stops taking requests, ends the live streams, waits for the requests in
 *   flight, then closes the database.
 */
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { resolve } from 'node:path';
import type { PoolConfig } from 'pg';
import {
  InternalError,
  InvalidArgumentError,
  StoreClosedError,
  SyncRejectedError,
  UnauthorizedError,
} from '../src/core/errors.ts';
import {
  DEFAULT_MAX_BODY_BYTES,
  DEFAULT_PULL_LIMIT,
  DEFAULT_SYNC_MAX_EVENT_BYTES,
  SYNC_PATHS,
  parsePullRequest,
  parsePushRequest,
  type PullResponse,
  type PushResponse,
} from '../src/sync/protocol.ts';
import { type Authorize, type SyncAccess, bearerToken, openAccess } from './auth.ts';
import { decodeCursor, encodeCursor } from './cursor.ts';
import {
  type CorsOrigins,
  HttpError,
  corsHeaders,
  preflightHeaders,
  readJsonBody,
  sendError,
  sendJson,
} from './http.ts';
import { LiveHub, type LiveOptions } from './live.ts';
import { consoleLog, type SyncServerLog } from './log.ts';
import { PushRace, appendPush } from './store/append.ts';
import { migrate } from './store/migrations.ts';
import { LOG_START, pullEvents } from './store/read.ts';
import { sqlState, type Storage } from './store/storage.ts';
import { sleep } from '../src/core/time.ts';

/** Options of `createSyncServer`. */
export interface SyncServerOptions {
  /**
   * A `postgres://` URL or a `pg` pool config. Without it the server runs on an embedded
   * PGlite database in `dataDir`, for trying it out (needs `@electric-sql/pglite`).
   */
  database?: string | PoolConfig;
  /** Who a request comes from. Without it the server is open to everyone, in tenant `default`. */
  authorize?: Authorize;
  /** The largest request body, in bytes (default 8 MiB); larger ones are answered 413. */
  maxBodyBytes?: number;
  /** The largest data plus metadata of one event, in UTF-8 bytes (default 1 MiB). */
  maxEventBytes?: number;
  /** The folder of the embedded database (default `./.cairn-server`); ignored with `database`. */
  dataDir?: string;
  /** Where to report warnings and failures (default: console). */
  log?: SyncServerLog;
  /** Origins browsers may call from (default `'*'`: any, as tokens are not cookies); false: no CORS. */
  cors?: CorsOrigins | false;
  /** Timings of the live stream. */
  live?: LiveOptions;
}

/** Where `listen` should bind. */
export interface ListenOptions {
  /** Default 127.0.0.1. */
  host?: string;
  /** Default 8787; 0 picks a free port. */
  port?: number;
}

/** A running sync server. */
export interface SyncServer {
  /** Serves on a port of its own; resolves with the URL it listens on. */
  listen(options?: ListenOptions): Promise<{ url: string }>;
  /** A Node request handler, to mount the server in an existing HTTP server. */
  handle(req: IncomingMessage, res: ServerResponse): void;
  /** Stops: ends live streams, waits for requests in flight, closes the database. */
  close(): Promise<void>;
  /** `postgres`, or `pglite` for the embedded default. */
  readonly storage: 'postgres' | 'pglite';
}

/** How often a push that raced or deadlocked is run again before giving up. */
const PUSH_ATTEMPTS = 5;

/**
 * Starts a sync server: connects, runs the migrations, starts listening for commits.
 *
 * @example
 * const server = await createSyncServer({
 *   database: process.env.DATABASE_URL,
 *   authorize: async (request) => (await users.byToken(request.token)) && { tenant: 'acme' },
 * });
 * const { url } = await server.listen({ host: '0.0.0.0', port: 8787 });
 */
export async function createSyncServer(options: SyncServerOptions = {}): Promise<SyncServer> {
  const log = options.log ?? consoleLog;
  const limits = {
    maxBodyBytes: positive(options.maxBodyBytes, DEFAULT_MAX_BODY_BYTES, 'maxBodyBytes'),
    maxEventBytes: positive(options.maxEventBytes, DEFAULT_SYNC_MAX_EVENT_BYTES, 'maxEventBytes'),
  };
  let authorize = options.authorize;
  if (authorize === undefined) {
    log.warn(
      'no authorize function: the server is open to everyone, who all share tenant "default". Pass authorize (or --token) before exposing it.',
    );
    authorize = openAccess;
  }
  const storage: Storage =
    options.database === undefined
      ? await (await import('./store/pglite.ts')).openPglite(resolve(options.dataDir ?? '.cairn-server'))
      : (await import('./store/postgres.ts')).openPostgres(options.database, log);
  const live = new LiveHub(storage, log, options.live);
  try {
    const { serverId } = await migrate(storage);
    await live.start();
    return new SyncHttpServer({ storage, live, log, authorize, serverId, cors: options.cors ?? '*', ...limits });
  } catch (e) {
    await live.close().catch(() => {});
    await storage.close().catch(() => {});
    throw e;
  }
}

interface ServerParts {
  storage: Storage;
  live: LiveHub;
  log: SyncServerLog;
  authorize: Authorize;
  serverId: string;
  cors: CorsOrigins | false;
  maxBodyBytes: number;
  maxEventBytes: number;
}

/** The HTTP side of a sync server over its storage. */
class SyncHttpServer implements SyncServer {
  readonly storage: 'postgres' | 'pglite';
  readonly #parts: ServerParts;
  readonly #inFlight = new Set<Promise<void>>();
  readonly #servers = new Set<Server>();
  #closing: Promise<void> | undefined;

  constructor(parts: ServerParts) {
    this.#parts = parts;
    this.storage = parts.storage.kind;
  }

  readonly handle = (req: IncomingMessage, res: ServerResponse): void => {
    const headers = corsHeaders(this.#parts.cors, req.headers.origin);
    const { log } = this.#parts;
    // Errors of the sockets themselves (a client resetting) must not reach the process.
    req.on('error', () => {});
    res.on('error', () => {});
    const done = this.#route(req, res, headers)
      .catch((e: unknown) => {
        if (!req.complete) headers.connection = 'close'; // do not read the rest of a refused body
        if (sendError(res, e, headers)) log.error(`${req.method ?? '?'} ${req.url ?? '?'} failed`, e);
      })
      .catch((e: unknown) => log.error('could not answer a request', e))
      .finally(() => this.#inFlight.delete(done));
    this.#inFlight.add(done);
  };

  async listen({ host = '127.0.0.1', port = 8787 }: ListenOptions = {}): Promise<{ url: string }> {
    if (this.#closing !== undefined) throw new StoreClosedError('The sync server is closed');
    const server = createServer(this.handle);
    server.on('clientError', (_e, socket) => {
      if (socket.writable) socket.end('HTTP/1.1 400 Bad Request\r\nconnection: close\r\n\r\n');
      else socket.destroy();
    });
    await new Promise<void>((ok, fail) => {
      server.once('error', fail);
      server.listen(port, host, () => {
        server.off('error', fail);
        ok();
      });
    });
    this.#servers.add(server);
    const address = server.address() as AddressInfo;
    const shown = address.family === 'IPv6' ? `[${address.address}]` : address.address;
    return { url: `http://${shown}:${address.port}` };
  }

  close(): Promise<void> {
    this.#closing ??= this.#shutDown();
    return this.#closing;
  }

  async #shutDown(): Promise<void> {
    const { live, log, storage } = this.#parts;
    const servers = [...this.#servers];
    const stopped = Promise.all(servers.map((server) => new Promise<void>((ok) => server.close(() => ok()))));
    await live.close();
    const slow = setTimeout(() => log.warn(`closing: waiting for ${this.#inFlight.size} requests in flight`), 5_000);
    await Promise.allSettled([...this.#inFlight]);
    clearTimeout(slow);
    // Keep-alive connections left idle by the requests that just finished; then, after
    // a grace period, whatever a client still holds open.
    for (const server of servers) server.closeIdleConnections();
    const grace = new Promise((ok) => setTimeout(ok, 2_000).unref());
    await Promise.race([stopped, grace]);
    for (const server of servers) server.closeAllConnections();
    await stopped;
    await storage.close();
  }

  async #route(req: IncomingMessage, res: ServerResponse, headers: Record<string, string>): Promise<void> {
    let url: URL;
    try {
      url = new URL(req.url ?? '/', 'http://localhost');
    } catch {
      throw new HttpError(400, new InvalidArgumentError('The request URL does not parse'));
    }
    const method = req.method ?? 'GET';
    const endpoint = ENDPOINTS.get(url.pathname);
    if (endpoint === undefined) {
      throw new HttpError(404, new InvalidArgumentError(`No such endpoint: ${url.pathname}`));
    }
    if (method === 'OPTIONS') {
      res.writeHead(204, { ...headers, ...preflightHeaders([endpoint.method]) });
      res.end();
      return;
    }
    if (method !== endpoint.method) {
      throw new HttpError(405, new InvalidArgumentError(`${url.pathname} takes ${endpoint.method}, not ${method}`), {
        allow: `${endpoint.method}, OPTIONS`,
      });
    }
    if (this.#closing !== undefined) throw new StoreClosedError('The sync server is shutting down');
    if (endpoint.name === 'health') {
      await this.#parts.storage.query('SELECT 1');
      sendJson(res, 200, { ok: true }, headers);
      return;
    }
    const access = await this.#authenticate(req, method, url);
    if (endpoint.name === 'live') this.#parts.live.attach(access.tenant, req, res, headers);
    else sendJson(res, 200, endpoint.name === 'push' ? await this.#push(req, access) : await this.#pull(req, access), headers);
  }

  async #authenticate(req: IncomingMessage, method: string, url: URL): Promise<SyncAccess> {
    const headers = new Headers();
    for (const [name, value] of Object.entries(req.headers)) {
      if (value === undefined) continue;
      for (const v of Array.isArray(value) ? value : [value]) headers.append(name, v);
    }
    let full: string;
    try {
      full = new URL(url.pathname + url.search, `http://${req.headers.host ?? 'localhost'}`).href;
    } catch {
      full = new URL(url.pathname + url.search, 'http://localhost').href; // a Host header that is not a host
    }
    let access: SyncAccess | null;
    try {
      access = await this.#parts.authorize({ method, url: full, headers, token: bearerToken(req.headers.authorization) });
    } catch (e) {
      this.#parts.log.warn(`authorize threw, answering 401: ${(e as Error)?.message ?? String(e)}`);
      access = null;
    }
    if (access === null || access === undefined) {
      throw new UnauthorizedError(req.headers.authorization === undefined ? 'A bearer token is required' : 'The token was not accepted');
    }
    const tenant: unknown = access.tenant;
    if (typeof tenant !== 'string' || tenant.length === 0 || tenant.length > 200 || /[\u0000\uD800-\uDFFF]/u.test(tenant)) {
      throw new InternalError(`authorize returned an invalid tenant (a non-empty string of at most 200 characters is needed)`);
    }
    return access;
  }

  async #push(req: IncomingMessage, access: SyncAccess): Promise<PushResponse> {
    const { maxBodyBytes, maxEventBytes, storage } = this.#parts;
    const request = parsePushRequest(await readJsonBody(req, maxBodyBytes), { maxEventBytes });
    if (access.canWrite !== undefined) {
      for (const batch of request.batches) {
        for (const append of batch.appends) {
          if (!access.canWrite(append.stream)) {
            throw new SyncRejectedError(`You may not write to stream "${append.stream}"; nothing of this push was stored`, append.stream);
          }
        }
      }
    }
    if (request.batches.length === 0) return { results: [] };
    for (let attempt = 1; ; attempt++) {
      try {
        const outcome = await storage.transaction((tx) => appendPush(tx, access.tenant, request));
        return { results: outcome.results };
      } catch (e) {
        // A race on an id (see append.ts), a deadlock on one (two pushes storing each
        // other's ids), or a serialization failure: the push wrote nothing; run it again.
        const retry = e instanceof PushRace || sqlState(e) === '40P01' || sqlState(e) === '40001';
        if (!retry || attempt >= PUSH_ATTEMPTS) throw e;
        await sleep(Math.random() * 10 * attempt);
      }
    }
  }

  async #pull(req: IncomingMessage, access: SyncAccess): Promise<PullResponse> {
    const { maxBodyBytes, serverId, storage } = this.#parts;
    const request = parsePullRequest(await readJsonBody(req, maxBodyBytes));
    const after = request.cursor === null ? LOG_START : decodeCursor(serverId, access.tenant, request.cursor);
    const page = await pullEvents(storage, access.tenant, after, {
      limit: request.limit ?? DEFAULT_PULL_LIMIT,
      filter: request.filter,
      canRead: access.canRead?.bind(access),
      // A response stays within about the body limit a request has.
      maxChars: maxBodyBytes,
    });
    return { events: page.events, cursor: encodeCursor(serverId, access.tenant, page.next), more: page.more };
  }
}

/** The endpoints, by path. */
const ENDPOINTS = new Map<string, { name: 'push' | 'pull' | 'live' | 'health'; method: string }>([
  [SYNC_PATHS.push, { name: 'push', method: 'POST' }],
  [SYNC_PATHS.pull, { name: 'pull', method: 'POST' }],
  [SYNC_PATHS.live, { name: 'live', method: 'GET' }],
  ['/v1/health', { name: 'health', method: 'GET' }],
]);

function positive(value: number | undefined, fallback: number, name: string): number {
  if (value === undefined) return fallback;
  if (!Number.isSafeInteger(value) || value <= 0) throw new InvalidArgumentError(`${name} must be a positive integer`);
  return value;
}
