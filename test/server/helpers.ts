/**
 * What the server tests share: a database of their own in the run's cluster, a server on a
 * free port, a small HTTP client of the protocol, and a reader of the live stream.
 */
import { Client } from 'pg';
import { monotonicFactory } from 'ulid';
import { inject } from 'vitest';
import { createDatabaseIn } from './postgres.ts';
import { createSyncServer, type SyncServer, type SyncServerOptions } from '../../server/index.ts';
import type { SyncServerLog } from '../../server/log.ts';
import {
  parseErrorBody,
  parsePullResponse,
  parsePushResponse,
  type PullRequest,
  type PullResponse,
  type PushAppend,
  type PushRequest,
  type PushResponse,
  type ServerEvent,
  type SyncEvent,
} from '../../src/sync/protocol.ts';
import { readServerSentEvents, type ServerSentEvent } from '../../src/sync/sse.ts';
import type { SerializedError } from '../../src/protocol/error-codec.ts';

/** Creates a fresh database in the run's cluster; returns its URL. */
export function createDatabase(): Promise<string> {
  return createDatabaseIn(inject('postgresUrl'));
}

/** A logger that keeps what it is told. */
export function memoryLog(): SyncServerLog & { lines: string[] } {
  const lines: string[] = [];
  return {
    lines,
    info: (m) => void lines.push(`info: ${m}`),
    warn: (m) => void lines.push(`warn: ${m}`),
    error: (m, e) => void lines.push(`error: ${m}${e === undefined ? '' : ` ${String(e)}`}`),
  };
}

/** A server listening on a free port of 127.0.0.1, and a client of it. */
export interface Running {
  server: SyncServer;
  url: string;
  log: ReturnType<typeof memoryLog>;
  api: Api;
}

/** Starts a server; stop it with `server.close()`. */
export async function startServer(options: SyncServerOptions): Promise<Running> {
  const log = memoryLog();
  const server = await createSyncServer({ log, ...options });
  const { url } = await server.listen({ port: 0 });
  return { server, url, log, api: api(url) };
}

/** What an HTTP call answered. */
export interface Answer<T> {
  status: number;
  body: T;
  headers: Headers;
}

/** A client of the protocol that validates what it gets, as the device will. */
export interface Api {
  push(request: PushRequest, token?: string): Promise<PushResponse>;
  pull(request: PullRequest, token?: string): Promise<PullResponse>;
  /** A call expected to fail: its status and the validated error. */
  fail(path: string, init: RequestInit & { token?: string }): Promise<{ status: number; error: SerializedError; headers: Headers }>;
  raw(path: string, init: RequestInit & { token?: string }): Promise<Response>;
  /** Every event after `cursor` (pulling until `more` is false), and the last cursor. */
  pullAll(request?: Partial<PullRequest>, token?: string): Promise<{ events: ServerEvent[]; cursor: string }>;
}

export function api(base: string): Api {
  const raw = (path: string, { token, headers, ...init }: RequestInit & { token?: string }): Promise<Response> =>
    fetch(`${base}${path}`, {
      ...init,
      headers: { ...(token === undefined ? {} : { authorization: `Bearer ${token}` }), ...(headers as Record<string, string>) },
    });
  const post = async (path: string, body: unknown, token?: string): Promise<Answer<unknown>> => {
    const res = await raw(path, {
      method: 'POST',
      body: JSON.stringify(body),
      headers: { 'content-type': 'application/json' },
      ...(token === undefined ? {} : { token }),
    });
    return { status: res.status, body: await res.json(), headers: res.headers };
  };
  const self: Api = {
    async push(request, token) {
      const answer = await post('/v1/push', request, token);
      if (answer.status !== 200) throw new Error(`push answered ${answer.status}: ${JSON.stringify(answer.body)}`);
      return parsePushResponse(answer.body, request);
    },
    async pull(request, token) {
      const answer = await post('/v1/pull', request, token);
      if (answer.status !== 200) throw new Error(`pull answered ${answer.status}: ${JSON.stringify(answer.body)}`);
      return parsePullResponse(answer.body);
    },
    async fail(path, init) {
      const res = await raw(path, init);
      expectJson(res);
      return { status: res.status, error: parseErrorBody(await res.json()), headers: res.headers };
    },
    raw,
    async pullAll(request = {}, token) {
      let cursor = request.cursor ?? null;
      const events: ServerEvent[] = [];
      for (;;) {
        const page = await self.pull({ ...request, cursor }, token);
        events.push(...page.events);
        cursor = page.cursor;
        if (!page.more) return { events, cursor };
      }
    },
  };
  return self;
}

function expectJson(res: Response): void {
  const type = res.headers.get('content-type') ?? '';
  if (!type.startsWith('application/json')) throw new Error(`expected a JSON error body, got ${res.status} ${type}`);
}

const nextId = monotonicFactory();

/** A fresh event id. */
export function newId(): string {
  return nextId();
}

/** A device id. */
export function newClient(): string {
  return nextId();
}

/** An event as a device pushes it. */
export function ev(type = 'Added', data: unknown = { n: 1 }, over: Partial<SyncEvent> = {}): SyncEvent {
  return { id: newId(), type, data: JSON.stringify(data), metadata: null, schemaVersion: 1, timestamp: Date.now(), ...over };
}

/** One append. */
export function append(
  stream: string,
  events: SyncEvent[],
  expectedVersion: PushAppend['expectedVersion'] = 'any',
  routingKey: string | null = null,
): PushAppend {
  return { stream, expectedVersion, routingKey, events };
}

/** A push of batches, each a list of appends. */
export function pushOf(client: string, ...batches: PushAppend[][]): PushRequest {
  return { client, batches: batches.map((appends) => ({ appends })) };
}

/** The live stream of a server, read as a device would (fetch, bearer token). */
export interface LiveClient {
  /** Waits for the next event named `name` (others are skipped), or fails after `ms`. */
  next(name: string, ms?: number): Promise<ServerSentEvent>;
  /** Whether an event named `name` arrives within `ms`. */
  arrives(name: string, ms: number): Promise<boolean>;
  close(): void;
  readonly status: number;
}

export async function openLive(base: string, token?: string): Promise<LiveClient> {
  const controller = new AbortController();
  const res = await fetch(`${base}/v1/live`, {
    headers: token === undefined ? {} : { authorization: `Bearer ${token}` },
    signal: controller.signal,
  });
  const queue: ServerSentEvent[] = [];
  let wake: (() => void) | undefined;
  let ended = false;
  if (res.ok && res.body !== null) {
    void (async () => {
      try {
        for await (const e of readServerSentEvents(res.body!, controller.signal)) {
          queue.push(e);
          wake?.();
        }
      } catch {
        // aborted
      } finally {
        ended = true;
        wake?.();
      }
    })();
  }
  const take = async (name: string, ms: number): Promise<ServerSentEvent | undefined> => {
    const deadline = Date.now() + ms;
    for (;;) {
      const i = queue.findIndex((e) => e.event === name);
      if (i !== -1) return queue.splice(0, i + 1).pop();
      queue.length = 0;
      if (ended) return undefined;
      const left = deadline - Date.now();
      if (left <= 0) return undefined;
      await new Promise<void>((resolve) => {
        const timer = setTimeout(resolve, left);
        wake = () => {
          clearTimeout(timer);
          resolve();
        };
      });
      wake = undefined;
    }
  };
  return {
    status: res.status,
    async next(name, ms = 5_000) {
      const e = await take(name, ms);
      if (e === undefined) throw new Error(`no "${name}" event within ${ms} ms`);
      return e;
    },
    async arrives(name, ms) {
      return (await take(name, ms)) !== undefined;
    },
    close: () => controller.abort(),
  };
}

/** Waits until `check` holds, polling. */
export async function until(check: () => boolean | Promise<boolean>, ms = 5_000, what = 'the condition'): Promise<void> {
  const deadline = Date.now() + ms;
  while (!(await check())) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 10));
  }
}

/** A direct connection to a test database (for counting rows, holding locks). */
export async function connect(url: string): Promise<Client> {
  const client = new Client({ connectionString: url });
  await client.connect();
  return client;
}

/** How many events a tenant has stored. */
export async function countEvents(url: string, tenant = 'default'): Promise<number> {
  const client = await connect(url);
  try {
    const { rows } = await client.query<{ n: string }>('SELECT count(*) AS n FROM cairn_events WHERE tenant = $1', [tenant]);
    return Number(rows[0]!.n);
  } finally {
    await client.end();
  }
}
