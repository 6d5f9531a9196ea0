/**
 * The wire protocol between the workers of one store, one per tab, over BroadcastChannel.
 *
 * Two kinds of channel:
 * - the store's channel, which every worker of the store joins: who leads (`hello`,
 *   `leader`), the leader's pushes, and followers leaving (`bye`);
 * - one inbox per worker, named after its unique id: requests go to the leader's inbox and
 *   replies to the asking worker's inbox, so no tab receives (or pays to clone) another
 *   tab's traffic, and two tabs using the same request ids cannot be confused.
 *
 * Requests, replies and pushes are the RPC's own messages (`rpc.ts`), with the addresses
 * added: between tabs the same RPC runs as between a page and its worker.
 *
 * The lock names live here too, since every worker must agree on them.
 */
import type { StorageKind } from '../core/types.ts';
import type { RpcBatch, RpcPush, RpcReplies, RpcRequest, RpcResponse } from './rpc.ts';

/** A worker that has just started asks the leader to make itself known. */
export interface HelloMessage {
  kind: 'hello';
  from: string;
}

/** The leader announces that it serves the store (to all, or to one worker's inbox). */
export interface LeaderMessage {
  kind: 'leader';
  leader: string;
  storage: StorageKind;
  head: number;
}

/** A follower's call, posted to the leader's inbox: an RPC request, addressed. `id` is unique per `from` only. */
export type ForwardedRequest = RpcRequest & { from: string; to: string };

/** The leader's answer, posted to the asking worker's inbox: an RPC reply, addressed. */
export type ForwardedReply = RpcResponse & { to: string };

/** A follower's calls of one turn, in one message to the leader's inbox. */
export type ForwardedBatch = RpcBatch & { from: string; to: string };

/** The leader's answers of one turn to one worker, in one message to its inbox. */
export type ForwardedReplies = RpcReplies & { to: string };

/** A push the leader publishes to every tab. */
export type PushRelay = RpcPush;

/** A follower is closing; the leader may forget its inbox. */
export interface ByeMessage {
  kind: 'bye';
  from: string;
}

/** Any message between the workers of a store. */
export type TabMessage = HelloMessage | LeaderMessage | ForwardedRequest | ForwardedBatch | ForwardedReply | ForwardedReplies | PushRelay | ByeMessage;

/** The Web Lock whose holder leads the store. */
export function storeLockName(store: string): string {
  return `cairn:${store}`;
}

/**
 * The lock a leader holds for as long as it serves. Followers queue for it in shared mode,
 * so the grant tells each of them that this leader is gone, however it went.
 */
export function leaderLockName(leaderId: string): string {
  return `cairn-leader:${leaderId}`;
}

/**
 * The lock a worker holds for its whole life (never released by `close`): its page queues
 * for it, so a worker that dies without an error event still fails its page's calls.
 */
export function workerLockName(workerId: string): string {
  return `cairn-worker:${workerId}`;
}

/** The channel every worker of the store joins. */
export function storeChannelName(store: string): string {
  return `cairn:${store}`;
}

/** One worker's inbox. */
export function inboxChannelName(store: string, workerId: string): string {
  return `cairn:${store}#${workerId}`;
}

/** Checks a message from the channel; anything malformed (or from a stranger) is undefined. */
export function parseTabMessage(data: unknown): TabMessage | undefined {
  if (typeof data !== 'object' || data === null) return undefined;
  const m = data as Record<string, unknown>;
  const str = (k: string): boolean => typeof m[k] === 'string';
  switch (m.kind) {
    case 'hello':
    case 'bye':
      return str('from') ? (data as TabMessage) : undefined;
    case 'leader':
      return str('leader') && str('storage') && typeof m.head === 'number' ? (data as LeaderMessage) : undefined;
    case 'request':
      // Arguments that are not a list are the RPC server's to refuse, with an answer.
      return str('from') && str('to') && str('op') && typeof m.id === 'number' ? (data as ForwardedRequest) : undefined;
    case 'batch':
      // Each request in it is the RPC server's to check, as a lone one is.
      return str('from') && str('to') && Array.isArray(m.requests) ? (data as ForwardedBatch) : undefined;
    case 'replies':
      return str('to') && Array.isArray(m.replies) ? (data as ForwardedReplies) : undefined;
    case 'reply':
      return str('to') && typeof m.id === 'number' && typeof m.ok === 'boolean' && (m.ok || typeof m.error === 'object')
        ? (data as ForwardedReply)
        : undefined;
    case 'push':
      return str('push') ? (data as PushRelay) : undefined;
    default:
      return undefined;
  }
}
