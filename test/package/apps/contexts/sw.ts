// The app's service worker, which opens a store when a page asks it to.
import { openInContext, type ContextRequest } from './open-in-context.ts';

interface ExtendableMessage extends MessageEvent<ContextRequest> {
  waitUntil(promise: Promise<unknown>): void;
}
const scope = globalThis as unknown as {
  addEventListener(type: string, listener: (event: Event & { waitUntil(p: Promise<unknown>): void }) => void): void;
  skipWaiting(): Promise<void>;
  clients: { claim(): Promise<void> };
};

scope.addEventListener('install', (event) => event.waitUntil(scope.skipWaiting()));
scope.addEventListener('activate', (event) => event.waitUntil(scope.clients.claim()));
scope.addEventListener('message', (event) => {
  const message = event as unknown as ExtendableMessage;
  message.waitUntil(openInContext(message.data).then((reply) => message.ports[0]!.postMessage(reply)));
});
