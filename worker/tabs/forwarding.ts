/**
 * Calls between tabs, on the same typed RPC as between a page and its worker
 * (`src/protocol/rpc.ts`), addressed over the tabs' channels:
 * - `leaderLink`: a follower's client, whose target is the current leader. When the leader
 *   changes or goes, the client re-sends what the old one had not answered, or lets it wait
 *   (failing with NO_LEADER after the timeout). Event ids are fixed in the page before
 *   sending, so a re-sent append that had committed replays its first result.
 * - `serveFollowers`: a leader answers the engine's and sync's operations (nothing else) that reach
 *   its inbox, while it is still serving, each answer posted to the asking worker's inbox.
 * - Both batch as the page and its worker do: a follower's calls of one turn go as one
 *   message, and the answers one turn settles for one worker come back as one.
 */
import { ROUTED_OPS, type RoutedOp } from '../../src/protocol/api.ts';
import { createRpcClient, replyInBatches, serveRpc, type Endpoint, type RpcClient, type RpcResponse } from '../../src/protocol/rpc.ts';
import type { ForwardedBatch, ForwardedReplies, ForwardedReply, ForwardedRequest } from '../../src/protocol/tabs.ts';
import type { TabChannels } from './channels.ts';

/** The engine's operations, as a follower sees them across the tabs. */
export type EngineCalls = Record<RoutedOp, (...args: unknown[]) => unknown>;

/** A follower's RPC client to the current leader. */
export function leaderLink(
  channels: TabChannels,
  self: string,
  leader: () => string | undefined,
  waitTimeout: number,
  waitError: () => Error,
): { client: RpcClient<EngineCalls>; deliver(reply: ForwardedReply | ForwardedReplies): void } {
  const listeners = new Set<(event: MessageEvent) => void>();
  const endpoint: Endpoint = {
    postMessage(message) {
      const to = leader();
      if (to !== undefined) channels.send(to, { ...(message as ForwardedRequest | ForwardedBatch), from: self, to });
    },
    addEventListener: (_type, listener) => void listeners.add(listener),
    removeEventListener: (_type, listener) => void listeners.delete(listener),
  };
  const client = createRpcClient<EngineCalls>(endpoint, { target: leader, waitTimeout, waitError, batch: true });
  return {
    client,
    deliver(reply) {
      const event = { data: reply } as MessageEvent;
      for (const listener of listeners) listener(event);
    },
  };
}

/** Serves followers' engine calls with `run` while `serving()`; returns the handler of requests reaching the inbox. */
export function serveFollowers(
  channels: TabChannels,
  serving: () => boolean,
  run: (op: RoutedOp, args: unknown[]) => Promise<unknown>,
): (request: ForwardedRequest | ForwardedBatch) => void {
  const listeners = new Set<(event: MessageEvent) => void>();
  const endpoint: Endpoint = {
    postMessage: () => {},
    addEventListener: (_type, listener) => void listeners.add(listener),
    removeEventListener: (_type, listener) => void listeners.delete(listener),
  };
  const api = Object.fromEntries(ROUTED_OPS.map((op) => [op, (...args: unknown[]) => run(op, args)]));
  serveRpc(api, endpoint, {
    ops: ROUTED_OPS,
    // Not serving (stepping down): no answer, so the follower re-sends the call to the next leader.
    accept: () => serving(),
    reply: (request, response) => answer((request as unknown as ForwardedRequest).from, response),
  });
  // One batcher per asking worker and turn: its answers of one turn go to its inbox as one
  // message. Each is dropped once its turn is over, so a follower that is gone leaves nothing.
  const batchers = new Map<string, (response: RpcResponse) => void>();
  const answer = (to: string, response: RpcResponse): void => {
    const post = batchers.get(to);
    if (post !== undefined) return post(response);
    const fresh = replyInBatches((message) => channels.send(to, { ...message, to }));
    batchers.set(to, fresh);
    fresh(response);
    queueMicrotask(() => batchers.delete(to));
  };
  return (message) => {
    // The requests of a batch carry no address of their own: each answer goes to the batch's sender.
    const data = message.kind === 'batch' ? { ...message, requests: message.requests.map((r) => ({ ...r, from: message.from })) } : message;
    const event = { data } as MessageEvent;
    for (const listener of listeners) listener(event);
  };
}
