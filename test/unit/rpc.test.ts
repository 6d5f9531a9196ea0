import { describe, expect, it } from 'vitest';
import {
  ErrorCode,
  InternalError,
  InvalidEventError,
  ProjectionFailedError,
  StorageUnavailableError,
  VersionConflictError,
  type CairnError,
} from '../../src/core/errors.ts';
import { deserializeError, serializeError } from '../../src/protocol/error-codec.ts';
import { createRpcClient, push, serveRpc, type Endpoint } from '../../src/protocol/rpc.ts';

/** Both ends of a real MessageChannel, so messages are structured-cloned as in a browser. */
function pair(): [Endpoint, Endpoint, () => void] {
  const { port1, port2 } = new MessageChannel();
  port1.start();
  port2.start();
  return [port1 as unknown as Endpoint, port2 as unknown as Endpoint, () => (port1.close(), port2.close())];
}

describe('error codec', () => {
  it('round-trips every code to its own class with its fields', () => {
    const samples: CairnError[] = [
      new VersionConflictError('cart-1', 'no_stream', 3),
      new InvalidEventError('bad data', 2),
      new ProjectionFailedError('totals', 'handler threw'),
      new StorageUnavailableError('no OPFS'),
    ];
    for (const error of samples) {
      const back = deserializeError(structuredClone(serializeError(error)));
      expect(back).toBeInstanceOf(error.constructor);
      expect(back.code).toBe(error.code);
      expect(back.message).toBe(error.message);
      expect({ ...back }).toEqual({ ...error });
    }
    for (const code of Object.values(ErrorCode)) {
      expect(deserializeError({ code, message: 'm', fields: {} }).code).toBe(code);
    }
  });

  it('turns a foreign error into INTERNAL with its message, and keeps it as the cause', () => {
    const back = deserializeError(structuredClone(serializeError(new TypeError('boom'))));
    expect(back.code).toBe('INTERNAL');
    expect(back.message).toBe('boom');
    expect(back.cause).toBeInstanceOf(Error);
    expect(back.cause).toMatchObject({ name: 'TypeError', message: 'boom' });
  });

  it('carries a chain of causes, CairnErrors rebuilt as their own class', () => {
    const root = new RangeError('disk said no');
    const middle = new StorageUnavailableError('write failed', { cause: root });
    const top = new ProjectionFailedError('totals', 'could not apply', { cause: middle });
    const back = deserializeError(structuredClone(serializeError(top)));
    expect(back).toBeInstanceOf(ProjectionFailedError);
    expect(back.cause).toBeInstanceOf(StorageUnavailableError);
    expect((back.cause as Error).message).toBe('write failed');
    expect((back.cause as Error).cause).toMatchObject({ name: 'RangeError', message: 'disk said no' });
  });

  it('rebuilds an unknown code as an explicit INTERNAL that keeps the original code and message', () => {
    const wire = { code: 'FROM_THE_FUTURE', message: 'a newer peer', fields: { x: 1 } };
    const back = deserializeError(wire);
    expect(back).toBeInstanceOf(InternalError);
    expect(back.code).toBe('INTERNAL');
    expect((back as InternalError).originalCode).toBe('FROM_THE_FUTURE');
    expect(back.message).toBe('FROM_THE_FUTURE: a newer peer');
    // Relayed, it travels on as it came; rebuilt afresh, it keeps the original code as a field.
    expect(serializeError(back)).toBe(wire);
    const copy = deserializeError(structuredClone(serializeError(new InternalError('m', { originalCode: 'FROM_THE_FUTURE' }))));
    expect((copy as InternalError).originalCode).toBe('FROM_THE_FUTURE');
  });

  it('turns a malformed error from the other side into INTERNAL saying so', () => {
    for (const junk of [null, 'oops', 42, { code: 7 }, { code: 'VERSION_CONFLICT' }, { code: 'X', message: 'm', fields: [] }]) {
      const back = deserializeError(junk);
      expect(back.code).toBe('INTERNAL');
      expect(back.message).toMatch(/malformed error/);
    }
  });

  it('sends a relayed error on exactly as it arrived', () => {
    const wire = structuredClone(serializeError(new VersionConflictError('s', 3, 4)));
    expect(serializeError(deserializeError(wire))).toBe(wire);
  });
});

describe('rpc', () => {
  it('holds calls while there is no target, sends them in order once there is, and never twice to the same one', async () => {
    const [a, b, close] = pair();
    const seen: string[] = [];
    serveRpc({ echo: (x: string) => (seen.push(x), x) }, a);
    let target: string | undefined;
    const client = createRpcClient<{ echo(x: string): string }>(b, { target: () => target, waitTimeout: 5000 });
    const calls = [client.remote.echo('1'), client.remote.echo('2')];
    await new Promise((r) => setTimeout(r, 20));
    expect(seen).toEqual([]);
    target = 'L1';
    client.resend();
    client.resend();
    expect(await Promise.all(calls)).toEqual(['1', '2']);
    expect(seen).toEqual(['1', '2']);
    close();
  });

  it('fails a call that waited for a target longer than its timeout', async () => {
    const [, b, close] = pair();
    const client = createRpcClient<{ echo(x: string): string }>(b, {
      target: () => undefined,
      waitTimeout: 30,
      waitError: () => new StorageUnavailableError('no one'),
    });
    await expect(client.remote.echo('x')).rejects.toBeInstanceOf(StorageUnavailableError);
    close();
  });

  it('hands unanswered calls over in call order', async () => {
    const [, b, close] = pair();
    const client = createRpcClient<{ op(x: number): number }>(b, { target: () => undefined });
    const first = client.remote.op(1);
    const second = client.remote.op(2);
    const taken = client.takePending();
    expect(taken.map((c) => [c.op, c.args])).toEqual([['op', [1]], ['op', [2]]]);
    taken[0]!.resolve('one');
    taken[1]!.reject(new StorageUnavailableError('two'));
    expect(await first).toBe('one');
    await expect(second).rejects.toThrow('two');
    close();
  });

  const api = {
    add: (a: number, b: number) => a + b,
    later: async (ms: number) => new Promise<string>((r) => setTimeout(() => r('done'), ms)),
    conflict: () => {
      throw new VersionConflictError('s', 1, 2);
    },
  };

  it('calls methods, returns results and rejects with rebuilt errors', async () => {
    const [a, b, close] = pair();
    serveRpc(api, a);
    const { remote } = createRpcClient<typeof api>(b);
    expect(await remote.add(2, 3)).toBe(5);
    expect(await Promise.all([remote.later(20), remote.add(1, 1)])).toEqual(['done', 2]);
    const error = await remote.conflict().catch((e: unknown) => e);
    expect(error).toBeInstanceOf(VersionConflictError);
    expect(error).toMatchObject({ stream: 's', expected: 1, actual: 2 });
    await expect((remote as unknown as { nope(): Promise<void> }).nope()).rejects.toMatchObject({ code: 'INVALID_ARGUMENT' });
    close();
  });

  it('is not thenable, so awaiting the remote itself does not hang', async () => {
    const [a, b, close] = pair();
    serveRpc(api, a);
    const { remote } = createRpcClient<typeof api>(b);
    expect(await Promise.resolve(remote)).toBe(remote);
    close();
  });

  it('rejects pending and later calls when failed, e.g. when the worker dies', async () => {
    const [a, b, close] = pair();
    serveRpc(api, a);
    const client = createRpcClient<typeof api>(b);
    const pending = client.remote.later(1000);
    client.fail(new StorageUnavailableError('worker died'));
    await expect(pending).rejects.toBeInstanceOf(StorageUnavailableError);
    await expect(client.remote.add(1, 2)).rejects.toThrow('worker died');
    close();
  });

  it('delivers pushes to the client', async () => {
    const [a, b, close] = pair();
    const got = new Promise((resolve) => createRpcClient(b, { onPush: resolve }));
    push(a, 'commit', { head: 7 });
    expect(await got).toEqual({ kind: 'push', push: 'commit', data: { head: 7 } });
    close();
  });

  /** Counts the messages that arrive at `end`. */
  function counted(end: Endpoint): { count: () => number } {
    let n = 0;
    end.addEventListener('message', () => void n++);
    return { count: () => n };
  }

  it('with batch, sends the calls of one turn as one message and gets their answers as one, each settled as its own', async () => {
    const [a, b, close] = pair();
    const toServer = counted(a);
    const toClient = counted(b);
    const order: number[] = [];
    serveRpc({ ...api, note: (i: number) => (order.push(i), i * 2) }, a);
    const { remote } = createRpcClient<typeof api & { note(i: number): number }>(b, { batch: true });
    const calls = Array.from({ length: 100 }, (_, i) => remote.note(i));
    const conflict = remote.conflict().catch((e: unknown) => e);
    expect(await Promise.all(calls)).toEqual(Array.from({ length: 100 }, (_, i) => i * 2));
    expect(await conflict).toBeInstanceOf(VersionConflictError);
    expect(order).toEqual(Array.from({ length: 100 }, (_, i) => i));
    expect(toServer.count()).toBe(1);
    expect(toClient.count()).toBe(1);
    // The next turn is a message of its own.
    expect(await remote.add(1, 2)).toBe(3);
    expect(toServer.count()).toBe(2);
    close();
  });

  it('with batch, a call whose arguments cannot be cloned fails alone, and an answer that cannot be cloned fails its call alone', async () => {
    const [a, b, close] = pair();
    serveRpc({ ...api, bad: () => ({ f: () => 1 }) }, a);
    const { remote } = createRpcClient<typeof api & { bad(): unknown; add(a: unknown, b: number): number }>(b, { batch: true });
    const results = await Promise.allSettled([remote.add(1, 1), remote.add(() => 1, 1), remote.bad(), remote.add(2, 2)]);
    expect(results.map((r) => (r.status === 'fulfilled' ? r.value : (r.reason as CairnError).code))).toEqual([2, 'INVALID_ARGUMENT', 'INTERNAL', 4]);
    close();
  });

  it('with batch, a call re-sent to a new target before its turn ended goes once, to the new one', async () => {
    const [a, b, close] = pair();
    const seen: string[] = [];
    serveRpc({ echo: (x: string) => (seen.push(x), x) }, a);
    let target = 'L1';
    const client = createRpcClient<{ echo(x: string): string }>(b, { target: () => target, batch: true });
    const calls = [client.remote.echo('1'), client.remote.echo('2')];
    target = 'L2';
    client.resend();
    expect(await Promise.all(calls)).toEqual(['1', '2']);
    expect(seen).toEqual(['1', '2']);
    close();
  });

  it('serves a batch from any client, and ignores what in it is not a request', async () => {
    const [a, b, close] = pair();
    serveRpc(api, a);
    const answers: unknown[] = [];
    b.addEventListener('message', (event) => answers.push(event.data));
    b.postMessage({ kind: 'batch', requests: [{ kind: 'request', id: 1, op: 'add', args: [1, 2] }, null, 7, { kind: 'request', id: 2, op: 'nope', args: [] }] });
    b.postMessage({ kind: 'batch', requests: 'not a list' });
    await new Promise((r) => setTimeout(r, 50));
    const replies = answers.flatMap((m) => ((m as { kind: string }).kind === 'replies' ? (m as { replies: unknown[] }).replies : [m]));
    expect(replies).toMatchObject([
      { kind: 'reply', id: 1, ok: true, result: 3 },
      { kind: 'reply', id: 2, ok: false, error: { code: 'INVALID_ARGUMENT' } },
    ]);
    close();
  });
});
