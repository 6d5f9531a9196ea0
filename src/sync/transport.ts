/**
 * The device's side of the sync protocol over HTTP (`protocol.ts`): push, pull and the live
 * stream, with `fetch`, so that the `Authorization` header works everywhere (a page, a
 * worker, Node). Every answer is validated as the server's requests are; every failure is a
 * CairnError: the server's own error body rebuilt as its class (UNAUTHORIZED, SYNC_REJECTED,
 * INVALID_…), a body past the server's limit (413) SYNC_REJECTED, and a server out of reach
 * (or answering nonsense) SYNC_UNAVAILABLE.
 */
import { SyncRejectedError, SyncUnavailableError, UnauthorizedError, messageOf, type CairnError } from '../core/errors.ts';
import { deserializeError } from '../protocol/error-codec.ts';
import {
  SYNC_PATHS,
  parseErrorBody,
  parsePullResponse,
  parsePushResponse,
  type PullRequest,
  type PullResponse,
  type PushRequest,
  type PushResponse,
} from './protocol.ts';
import { readServerSentEvents, type ServerSentEvent } from './sse.ts';

/** How to reach a sync server. */
export interface TransportOptions {
  /** The server's base URL, e.g. `https://sync.example.com`. */
  url: string;
  /** The bearer token of this device's user, if the server wants one. */
  token: () => string | undefined;
  /** `fetch` (the runtime's by default). */
  fetch?: typeof fetch;
  /** How long one push or pull may take, in ms. Default 30 000. */
  timeout?: number;
}

/** The device's connection to a sync server. */
export class SyncTransport {
  readonly #base: string;
  readonly #token: () => string | undefined;
  readonly #fetch: typeof fetch;
  readonly #timeout: number;

  constructor(options: TransportOptions) {
    let base: URL;
    try {
      base = new URL(options.url);
    } catch (e) {
      throw new SyncUnavailableError(`The sync URL does not parse: ${String(options.url)}`, { cause: e });
    }
    if (base.protocol !== 'http:' && base.protocol !== 'https:') throw new SyncUnavailableError('The sync URL must be http: or https:');
    this.#base = base.href.replace(/\/+$/, '');
    this.#token = options.token;
    this.#fetch = options.fetch ?? ((input, init) => globalThis.fetch(input, init));
    this.#timeout = options.timeout ?? 30_000;
  }

  /** Sends a push; the answer is checked against the request (one result per batch). */
  async push(request: PushRequest): Promise<PushResponse> {
    return parsePushResponse(await this.#post(SYNC_PATHS.push, request), request);
  }

  async pull(request: PullRequest): Promise<PullResponse> {
    return parsePullResponse(await this.#post(SYNC_PATHS.pull, request));
  }

  /** Opens the live stream; yields its events until it ends, fails or `signal` aborts. */
  async *live(signal: AbortSignal): AsyncGenerator<ServerSentEvent, void> {
    let response: Response;
    try {
      response = await this.#fetch(this.#base + SYNC_PATHS.live, { headers: this.#headers(false), signal });
    } catch (e) {
      throw unreachable(e);
    }
    if (!response.ok) throw await refusal(response);
    if (response.body === null) throw new SyncUnavailableError('The live stream has no body');
    yield* readServerSentEvents(response.body, signal);
  }

  async #post(path: string, body: unknown): Promise<unknown> {
    const timeout = AbortSignal.timeout(this.#timeout);
    let response: Response;
    try {
      response = await this.#fetch(this.#base + path, { method: 'POST', headers: this.#headers(true), body: JSON.stringify(body), signal: timeout });
    } catch (e) {
      throw unreachable(e);
    }
    if (!response.ok) throw await refusal(response);
    try {
      return await response.json();
    } catch (e) {
      throw new SyncUnavailableError(`The sync server's answer to ${path} is not JSON`, { cause: e });
    }
  }

  #headers(json: boolean): Record<string, string> {
    const headers: Record<string, string> = {};
    if (json) headers['content-type'] = 'application/json';
    const token = this.#token();
    if (token !== undefined) headers.authorization = `Bearer ${token}`;
    return headers;
  }
}

function unreachable(e: unknown): CairnError {
  return new SyncUnavailableError(`The sync server could not be reached: ${messageOf(e)}`, { cause: e });
}

/** The CairnError of a non-2xx answer: its error body rebuilt, or what its status says. */
async function refusal(response: Response): Promise<CairnError> {
  let body: unknown;
  try {
    body = await response.json();
  } catch {
    body = undefined;
  }
  // Past the server's body limit: a refusal of what this push carries (the runner splits it).
  if (response.status === 413) {
    let why = `${response.status} ${response.statusText}`;
    try {
      why = parseErrorBody(body).message;
    } catch {
      // No error body (a proxy's answer): the status says it.
    }
    return new SyncRejectedError(`The sync server refused the push as too large: ${why}`);
  }
  try {
    return deserializeError(parseErrorBody(body));
  } catch {
    if (response.status === 401) return new UnauthorizedError();
    return new SyncUnavailableError(`The sync server answered ${response.status} ${response.statusText}`);
  }
}
