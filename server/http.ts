/**
 * HTTP plumbing of the sync server: reading a bounded JSON body, writing JSON and error
 * bodies, the status of each error code, and CORS (browsers call the server from the app's
 * own origin, with an `Authorization` header, so preflights must be answered).
 */
import type { IncomingMessage, ServerResponse } from 'node:http';
import { type CairnError, ErrorCode, InvalidArgumentError, isCairnError } from '../src/core/errors.ts';
import { wireError } from './wire.ts';

/** An error with the HTTP status it is sent with. */
export class HttpError extends Error {
  readonly status: number;
  readonly error: CairnError;
  readonly headers: Record<string, string>;
  constructor(status: number, error: CairnError, headers: Record<string, string> = {}) {
    super(error.message);
    this.name = 'HttpError';
    this.status = status;
    this.error = error;
    this.headers = headers;
  }
}

/** The status an error is answered with, unless it came as an HttpError. */
export function statusOf(error: CairnError): number {
  switch (error.code) {
    case ErrorCode.INVALID_ARGUMENT:
    case ErrorCode.INVALID_EVENT:
    case ErrorCode.INVALID_STREAM:
      return 400;
    case ErrorCode.UNAUTHORIZED:
      return 401;
    case ErrorCode.SYNC_REJECTED:
      return 403;
    case ErrorCode.STORE_CLOSED:
      return 503;
    default:
      return 500;
  }
}

/**
 * Reads the request body as JSON: 415 unless it is `application/json` (UTF-8), 413 past
 * `maxBytes` (reading stops there), 400 for bytes that are not UTF-8 or text that is not JSON.
 */
export async function readJsonBody(req: IncomingMessage, maxBytes: number): Promise<unknown> {
  const type = (req.headers['content-type'] ?? '').split(';');
  const media = type[0]!.trim().toLowerCase();
  const charset = type
    .slice(1)
    .map((p) => p.trim().toLowerCase())
    .find((p) => p.startsWith('charset='));
  if (media !== 'application/json' || (charset !== undefined && !/^charset="?utf-8"?$/.test(charset))) {
    throw new HttpError(
      415,
      new InvalidArgumentError(`The body must be JSON (content-type: application/json), got ${JSON.stringify(req.headers['content-type'] ?? null)}`),
    );
  }
  const tooLarge = (): HttpError =>
    new HttpError(413, new InvalidArgumentError(`The body is larger than the limit of ${maxBytes} bytes; send smaller pushes`), {
      connection: 'close',
    });
  const declared = Number(req.headers['content-length'] ?? NaN);
  if (Number.isFinite(declared) && declared > maxBytes) {
    req.pause();
    throw tooLarge();
  }
  const chunks: Buffer[] = [];
  let size = 0;
  await new Promise<void>((resolve, reject) => {
    const onData = (chunk: Buffer): void => {
      size += chunk.length;
      if (size > maxBytes) {
        cleanup();
        req.pause(); // stop reading; the answer closes the connection
        reject(tooLarge());
        return;
      }
      chunks.push(chunk);
    };
    const onEnd = (): void => {
      cleanup();
      resolve();
    };
    const onError = (e: Error): void => {
      cleanup();
      reject(e);
    };
    const onAborted = (): void => {
      cleanup();
      reject(new Error('The client went away before the body was read'));
    };
    const cleanup = (): void => {
      req.off('data', onData);
      req.off('end', onEnd);
      req.off('error', onError);
      req.off('close', onClose);
    };
    const onClose = (): void => {
      if (!req.complete) onAborted();
    };
    req.on('data', onData);
    req.on('end', onEnd);
    req.on('error', onError);
    req.on('close', onClose);
  });
  let text: string;
  try {
    text = new TextDecoder('utf-8', { fatal: true, ignoreBOM: false }).decode(Buffer.concat(chunks, size));
  } catch {
    throw new HttpError(400, new InvalidArgumentError('The body is not valid UTF-8'));
  }
  try {
    return JSON.parse(text) as unknown;
  } catch (e) {
    throw new HttpError(400, new InvalidArgumentError(`The body is not valid JSON: ${(e as Error).message}`));
  }
}

/** Sends a JSON body. */
export function sendJson(res: ServerResponse, status: number, body: unknown, headers: Record<string, string> = {}): void {
  const text = JSON.stringify(body);
  res.writeHead(status, {
    ...headers,
    'content-type': 'application/json; charset=utf-8',
    'content-length': String(Buffer.byteLength(text)),
    'cache-control': 'no-store',
  });
  res.end(text);
}

/** Sends `{ error }` for whatever was thrown; true when it was a server fault (500). */
export function sendError(res: ServerResponse, e: unknown, headers: Record<string, string> = {}): boolean {
  let status: number;
  let error: unknown;
  let extra: Record<string, string> = {};
  if (e instanceof HttpError) {
    status = e.status;
    error = e.error;
    extra = e.headers;
  } else if (isCairnError(e)) {
    status = statusOf(e);
    error = e;
    if (status === 401) extra = { 'www-authenticate': 'Bearer' };
  } else {
    status = 500;
    error = e;
  }
  if (res.headersSent) {
    res.destroy();
  } else {
    sendJson(res, status, { error: wireError(error) }, { ...headers, ...extra });
  }
  return status >= 500;
}

/** Which origins may call the server from a browser. */
export type CorsOrigins = '*' | readonly string[];

/** The CORS headers of an answer to `origin`. */
export function corsHeaders(allowed: CorsOrigins | false, origin: string | undefined): Record<string, string> {
  if (allowed === false || origin === undefined) return {};
  if (allowed === '*') return { 'access-control-allow-origin': '*' };
  return allowed.includes(origin) ? { 'access-control-allow-origin': origin, vary: 'origin' } : { vary: 'origin' };
}

/** The headers of an answer to a preflight request. */
export function preflightHeaders(methods: readonly string[]): Record<string, string> {
  return {
    'access-control-allow-methods': [...methods, 'OPTIONS'].join(', '),
    'access-control-allow-headers': 'authorization, content-type',
    'access-control-max-age': '600',
  };
}
