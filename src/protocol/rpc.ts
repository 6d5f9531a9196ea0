/**
 * The one typed RPC of Cairn, over anything that can post messages: a Worker, a MessagePort,
 * a BroadcastChannel pair, or an in-memory pair in a test. Page → worker and follower tab →
 * leader tab both use it.
 *
 * - Requests are `{ kind: 'request', id, op, args }`; replies `{ kind: 'reply', id, ok: true,
 *   result }` or `{ kind: 'reply', id, ok: false, error }`, where `error` is a serialized
 *   CairnError rebuilt as its own class by the caller. The server may push `{ kind: 'push',
 *   push, data }` messages unasked, which the client hands to `onPush`.
 * - A client may have a far end that comes and goes, or changes (a follower's leader): its
 *   `target()` names the current one, or undefined when there is none. Calls made while there
 *   is none wait, unsent, and each fails with `waitError()` once it has waited `waitTimeout`
 *   ms. When the target changes, `resend()` sends every call not yet answered by the old one
 *   to the new one, in the order they were made (a call already sent to the current target
 *   is not sent twice); a late answer from the old target and the answer to the re-send both
 *   arrive, and the first settles the call.
 * - `takePending()` hands the unanswered calls over to be run elsewhere (a follower that has
 *   just become the leader runs them itself).
 * - Pending calls reject when the client is failed (its worker died) or disposed.
 * - With `batch`, the calls made in one turn of the event loop (before its microtasks run out)
 *   go as one `{ kind: 'batch', requests }` message, and the server posts the answers settled
 *   in one turn as one `{ kind: 'replies', replies }`: a thousand appends issued at once cost
 *   two messages, not two thousand, each a task to dispatch on the other side. The server
 *   serves batches whatever its client does, and answers one request with one reply.
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
  kind: 'request';
  id: number;
  op: string;
  args: unknown[];
}

/** A call's answer. */
export type RpcResponse =
  | { kind: 'reply'; id: number; ok: true; result: unknown }
  | { kind: 'reply'; id: number; ok: false; error: SerializedError };

/** Calls made in one turn, in call order. */
export interface RpcBatch {
  kind: 'batch';
  requests: RpcRequest[];
}

/** Answers settled in one turn. */
export interface RpcReplies {
  kind: 'replies';
  replies: RpcResponse[];
}

/** A message the server sends unasked. */
export interface RpcPush {
  kind: 'push';
  push: string;
  data: unknown;
}

/** Any function-valued API, as seen from the other side: every method returns a promise. */
export type Remote<Api> = {
  [K in keyof Api]: Api[K] extends (...args: infer A) => infer R ? (...args: A) => Promise<Awaited<R>> : never;
};

/** A call not yet answered, as `takePending` hands it over. */
export interface PendingCall {
  op: string;
  args: unknown[];
  resolve: (value: unknown) => void;
  reject: (error: unknown) => void;
}

/** Options of `createRpcClient`. */
export interface RpcClientOptions {
  /** Receives the server's pushes. */
  onPush?: (push: RpcPush) => void;
  /** The far end calls go to now, or undefined while there is none (calls then wait unsent). One constant end by default. */
  target?: () => string | undefined;
  /** How long a call may wait unsent, in ms, before it fails with `waitError()`. */
  waitTimeout?: number;
  /** The error of a call that waited too long. */
  waitError?: () => Error;
  /** Posts the calls made in one turn as one message (the server must be a `serveRpc`). */
  batch?: boolean;
}

/** The calling side of an RPC connection. */
export interface RpcClient<Api> {
  readonly remote: Remote<Api>;
  /**
   * The target changed: every unanswered call not sent to the new target is sent to it, in
   * the order the calls were made; with no target, they wait, their clocks running.
   */
  resend(): void;
  /** Takes every unanswered call out of the client, in call order. */
  takePending(): PendingCall[];
  /** Rejects every pending call with `error`, and every later one too. */
  fail(error: Error): void;
  /** Stops listening; pending and later calls reject with STORE_CLOSED. */
  dispose(): void;
}

interface Call extends PendingCall {
  /** The clock of a call waiting unsent. */
  timer: ReturnType<typeof setTimeout> | undefined;
  /** The target it was last sent to. */
  sentTo: string | undefined;
}

const ONLY_END = 'end';

/** Connects to an API served with `serveRpc` on the other end of `endpoint`. */
export function createRpcClient<Api>(endpoint: Endpoint, options: RpcClientOptions = {}): RpcClient<Api> {
  const calls = new Calls(endpoint, options);
  const remote = new Proxy({} as Remote<Api>, {
    get(_target, op) {
      // Never look like a promise: `await remote` must not call `remote.then`.
      if (typeof op !== 'string' || op === 'then') return undefined;
      return (...args: unknown[]) => calls.call(op, args);
    },
  });
  return {
    remote,
    resend: () => calls.resend(),
    takePending: () => calls.takePending(),
    fail: (error) => calls.fail(error),
    dispose: () => calls.dispose(),
  };
}

/** The calls of one client: sent, waiting for a target, or answered. */
class Calls {
  readonly #endpoint: Endpoint;
  readonly #options: RpcClientOptions;
  readonly #target: () => string | undefined;
  readonly #pending = new Map<number, Call>();
  readonly #listener = (event: MessageEvent): void => this.#receive(event.data);
  /** With `batch`: the requests of this turn, posted together once its microtasks have run. */
  #outbox: { id: number; call: Call; to: string }[] = [];
  #nextId = 1;
  #failure: Error | undefined;

  constructor(endpoint: Endpoint, options: RpcClientOptions) {
    this.#endpoint = endpoint;
    this.#options = options;
    this.#target = options.target ?? (() => ONLY_END);
    endpoint.addEventListener('message', this.#listener);
  }

  call(op: string, args: unknown[]): Promise<unknown> {
    if (this.#failure !== undefined) return Promise.reject(this.#failure);
    const id = this.#nextId++;
    return new Promise((resolve, reject) => {
      const c: Call = { op, args, resolve, reject, timer: undefined, sentTo: undefined };
      this.#pending.set(id, c);
      this.#send(id, c);
    });
  }

  resend(): void {
    for (const [id, c] of this.#pending) this.#send(id, c);
  }

  takePending(): PendingCall[] {
    const calls = [...this.#pending.values()];
    for (const c of calls) clearTimeout(c.timer);
    this.#pending.clear();
    return calls.map(({ op, args, resolve, reject }) => ({ op, args, resolve, reject }));
  }

  fail(error: Error): void {
    this.#failure ??= error;
    for (const c of this.#pending.values()) {
      clearTimeout(c.timer);
      c.reject(error);
    }
    this.#pending.clear();
  }

  dispose(): void {
    this.#endpoint.removeEventListener('message', this.#listener);
    this.fail(new StoreClosedError());
  }

  #receive(data: unknown): void {
    const msg = data as Partial<RpcResponse | RpcPush | RpcReplies> | null;
    if (typeof msg !== 'object' || msg === null) return;
    if (msg.kind === 'push') {
      if (typeof msg.push === 'string') this.#options.onPush?.(msg as RpcPush);
      return;
    }
    if (msg.kind === 'replies') {
      if (Array.isArray(msg.replies)) for (const reply of msg.replies) this.#settle(reply as Partial<RpcResponse> | null);
      return;
    }
    this.#settle(msg as Partial<RpcResponse>);
  }

  #settle(msg: Partial<RpcResponse> | null): void {
    if (typeof msg !== 'object' || msg === null || msg.kind !== 'reply' || typeof msg.id !== 'number') return;
    const call = this.#pending.get(msg.id);
    if (call === undefined) return;
    this.#pending.delete(msg.id);
    clearTimeout(call.timer);
    if (msg.ok === true) call.resolve((msg as { result: unknown }).result);
    else call.reject(deserializeError((msg as { error: unknown }).error));
  }

  /** Posts a call to the target, or starts its clock while there is none. */
  #send(id: number, call: Call): void {
    const to = this.#target();
    if (to === undefined) {
      call.sentTo = undefined;
      call.timer ??= setTimeout(() => {
        this.#pending.delete(id);
        call.reject(this.#options.waitError?.() ?? new StoreClosedError('No one answered'));
      }, this.#options.waitTimeout ?? 10_000);
      return;
    }
    clearTimeout(call.timer);
    call.timer = undefined;
    if (call.sentTo === to) return;
    call.sentTo = to;
    if (this.#options.batch !== true) return this.#post(id, call);
    if (this.#outbox.length === 0) queueMicrotask(() => this.#flush());
    this.#outbox.push({ id, call, to });
  }

  /** Posts this turn's requests: those still unanswered and still meant for the current target. */
  #flush(): void {
    const to = this.#target();
    const due = this.#outbox.filter((o) => o.to === to && o.call.sentTo === to && this.#pending.get(o.id) === o.call);
    this.#outbox = [];
    if (due.length === 1) return this.#post(due[0]!.id, due[0]!.call);
    if (due.length === 0) return;
    const requests = due.map(({ id, call }) => request(id, call));
    try {
      this.#endpoint.postMessage({ kind: 'batch', requests } satisfies RpcBatch);
    } catch {
      // One of them cannot be cloned (or the channel is closed): each goes alone, so only it fails.
      for (const { id, call } of due) this.#post(id, call);
    }
  }

  #post(id: number, call: Call): void {
    try {
      this.#endpoint.postMessage(request(id, call));
    } catch (e) {
      // The arguments cannot be cloned, or the channel is closed.
      this.#pending.delete(id);
      call.reject(e instanceof Error ? new InvalidArgumentError(`The call could not be sent: ${e.message}`, { cause: e }) : e);
    }
  }
}

function request(id: number, call: Call): RpcRequest {
  return { kind: 'request', id, op: call.op, args: call.args };
}

/** Options of `serveRpc`. */
export interface ServeRpcOptions {
  /** Which requests to serve (all by default); the others are ignored, unanswered. */
  accept?: (request: RpcRequest & Record<string, unknown>) => boolean;
  /** Where a request's answer goes; back on `endpoint` by default. */
  reply?: (request: RpcRequest & Record<string, unknown>, response: RpcResponse) => void;
  /** The operations that may be called; every own method of `api` by default. */
  ops?: readonly string[];
}

/** Serves `api`'s methods to RPC clients on `endpoint`; returns a function that stops serving. */
export function serveRpc(api: object, endpoint: Endpoint, options: ServeRpcOptions = {}): () => void {
  const methods = api as Record<string, unknown>;
  let reply = options.reply;
  if (reply === undefined) {
    const post = replyInBatches((message) => endpoint.postMessage(message));
    reply = (_request, response) => post(response);
  }
  const serve = (msg: (RpcRequest & Record<string, unknown>) | null): void => {
    if (typeof msg !== 'object' || msg === null || msg.kind !== 'request') return;
    if (typeof msg.op !== 'string' || typeof msg.id !== 'number') return;
    if (options.accept !== undefined && !options.accept(msg)) return;
    const { id, op } = msg;
    const allowed = options.ops === undefined ? Object.hasOwn(methods, op) : options.ops.includes(op);
    const method = allowed ? methods[op] : undefined;
    let result: Promise<unknown>;
    if (typeof method !== 'function') {
      result = Promise.reject(new InvalidArgumentError(`Unknown operation: ${op}`));
    } else if (!Array.isArray(msg.args)) {
      result = Promise.reject(new InvalidArgumentError(`The arguments of ${op} must be an array`));
    } else {
      try {
        result = Promise.resolve(method.apply(api, msg.args));
      } catch (e) {
        result = Promise.reject(e);
      }
    }
    const fail = (e: unknown): void => reply(msg, { kind: 'reply', id, ok: false, error: serializeError(e) });
    result.then((value) => {
      try {
        reply(msg, { kind: 'reply', id, ok: true, result: value });
      } catch (e) {
        // The answer could not be posted (not cloneable): the caller gets why instead of nothing.
        fail(e);
      }
    }, fail);
  };
  const listener = (event: MessageEvent): void => {
    const msg = event.data as Partial<RpcBatch> | null;
    if (typeof msg === 'object' && msg !== null && msg.kind === 'batch') {
      if (Array.isArray(msg.requests)) for (const request of msg.requests) serve(request as RpcRequest & Record<string, unknown>);
      return;
    }
    serve(msg as (RpcRequest & Record<string, unknown>) | null);
  };
  endpoint.addEventListener('message', listener);
  return () => endpoint.removeEventListener('message', listener);
}

/**
 * Posts the answers settled in one turn as one message (with `post`, which throws if it
 * cannot clone it), once its microtasks have run: a group commit settles all its calls in
 * one loop. If that message cannot be cloned, each answer goes alone, and one that cannot
 * be cloned is answered with why instead.
 */
export function replyInBatches(post: (message: RpcResponse | RpcReplies) => void): (response: RpcResponse) => void {
  let due: RpcResponse[] = [];
  const alone = (response: RpcResponse): void => {
    try {
      post(response);
    } catch (e) {
      if (!response.ok) throw e;
      post({ kind: 'reply', id: response.id, ok: false, error: serializeError(e) });
    }
  };
  const flush = (): void => {
    const replies = due;
    due = [];
    if (replies.length === 1) return alone(replies[0]!);
    try {
      post({ kind: 'replies', replies });
    } catch {
      for (const response of replies) alone(response);
    }
  };
  return (response) => {
    if (due.length === 0) queueMicrotask(flush);
    due.push(response);
  };
}

/** Posts a push message to the client. */
export function push(endpoint: Endpoint, name: string, data: unknown): void {
  endpoint.postMessage({ kind: 'push', push: name, data } satisfies RpcPush);
}
