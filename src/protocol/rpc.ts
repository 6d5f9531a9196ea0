/**
 * A small typed RPC over anything that can post messages: a Worker, a MessagePort, a
 * BroadcastChannel or an in-memory pair in a test.
 *
 * Requests are `{ id, op, args }`; replies are `{ id, ok: true, result }` or
 * `{ id, ok: false, error }`, where `error` is a serialized CairnError rebuilt as its own
 * class by the caller. The server may also push `{ push, data }` messages, which the
 * client hands to `onPush`. Pending calls reject when the client is failed (for example
 * when its worker dies) or disposed.
 */
import { InvalidArgumentError, StoreClosedError } from '../core/errors.ts';
import { deserializeError, serializeError, type SerializedError } from './error-codec.ts';

/** The least a message channel must offer. */
export interface Endpoint {
  postMessage(message: unknown): void;
  addEventListener(type: 'message', listener: (event: MessageEvent) => void): void;
  removeEventListener(type: 'message', listener: (event: MessageEvent) => void): void;
}

/** A call. */
export interface RpcRequest {
  id: number;
  op: string;
  args: unknown[];
}

/** A call's answer. */
export type RpcResponse = { id: number; ok: true; result: unknown } | { id: number; ok: false; error: SerializedError };

/** A message the server sends unasked. */
export interface RpcPush {
  push: string;
  data: unknown;
}

/** Any function-valued API, as seen from the other side: every method returns a promise. */
export type Remote<Api> = {
  [K in keyof Api]: Api[K] extends (...args: infer A) => infer R ? (...args: A) => Promise<Awaited<R>> : never;
};

/** The calling side of an RPC connection. */
export interface RpcClient<Api> {
  readonly remote: Remote<Api>;
  /** Rejects every pending call with `error`, and every later one too. */
  fail(error: Error): void;
  /** Stops listening; pending and later calls reject with STORE_CLOSED. */
  dispose(): void;
}

/** Connects to an API served with `serveRpc` on the other end of `endpoint`. */
export function createRpcClient<Api>(endpoint: Endpoint, onPush?: (push: RpcPush) => void): RpcClient<Api> {
  const pending = new Map<number, { resolve: (v: unknown) => void; reject: (e: unknown) => void }>();
  let nextId = 1;
  let failure: Error | undefined;

  const listener = (event: MessageEvent): void => {
    const msg = event.data as RpcResponse | RpcPush;
    if ('push' in msg) {
      onPush?.(msg);
      return;
    }
    const call = pending.get(msg.id);
    if (call === undefined) return;
    pending.delete(msg.id);
    if (msg.ok) call.resolve(msg.result);
    else call.reject(deserializeError(msg.error));
  };
  endpoint.addEventListener('message', listener);

  function call(op: string, args: unknown[]): Promise<unknown> {
    if (failure !== undefined) return Promise.reject(failure);
    const id = nextId++;
    return new Promise((resolve, reject) => {
      pending.set(id, { resolve, reject });
      try {
        endpoint.postMessage({ id, op, args } satisfies RpcRequest);
      } catch (e) {
        pending.delete(id);
        reject(e);
      }
    });
  }

  const remote = new Proxy({} as Remote<Api>, {
    get(_target, op) {
      // Never look like a promise: `await remote` must not call `remote.then`.
      if (typeof op !== 'string' || op === 'then') return undefined;
      return (...args: unknown[]) => call(op, args);
    },
  });

  function fail(error: Error): void {
    failure ??= error;
    for (const call of pending.values()) call.reject(error);
    pending.clear();
  }

  return {
    remote,
    fail,
    dispose() {
      endpoint.removeEventListener('message', listener);
      fail(new StoreClosedError());
    },
  };
}

/** Serves `api`'s methods to RPC clients on `endpoint`; returns a function that stops serving. */
export function serveRpc(api: object, endpoint: Endpoint): () => void {
  const methods = api as Record<string, unknown>;
  const listener = (event: MessageEvent): void => {
    const msg = event.data as RpcRequest;
    if (typeof msg !== 'object' || msg === null || typeof msg.op !== 'string' || typeof msg.id !== 'number') return;
    const { id, op, args } = msg;
    const method = Object.hasOwn(methods, op) ? methods[op] : undefined;
    let result: Promise<unknown>;
    if (typeof method !== 'function') {
      result = Promise.reject(new InvalidArgumentError(`Unknown operation: ${op}`));
    } else {
      try {
        result = Promise.resolve(method.apply(api, Array.isArray(args) ? args : []));
      } catch (e) {
        result = Promise.reject(e);
      }
    }
    result.then(
      (value) => endpoint.postMessage({ id, ok: true, result: value } satisfies RpcResponse),
      (e: unknown) => endpoint.postMessage({ id, ok: false, error: serializeError(e) } satisfies RpcResponse),
    );
  };
  endpoint.addEventListener('message', listener);
  return () => endpoint.removeEventListener('message', listener);
}

/** Posts a push message to the client. */
export function push(endpoint: Endpoint, name: string, data: unknown): void {
  endpoint.postMessage({ push: name, data } satisfies RpcPush);
}
