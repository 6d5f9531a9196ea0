// The page: asks each kind of context to open a store, and shows what it got.
import type { ContextReply, ContextRequest } from './open-in-context.ts';

type Kind = 'dedicated' | 'shared' | 'service';

async function ask(kind: Kind, request: ContextRequest): Promise<ContextReply> {
  if (kind === 'dedicated') {
    const worker = new Worker(new URL('./dedicated.ts', import.meta.url), { type: 'module' });
    const reply = await new Promise<ContextReply>((resolve) => {
      worker.onmessage = (e: MessageEvent<ContextReply>) => resolve(e.data);
      worker.postMessage(request);
    });
    worker.terminate();
    return reply;
  }
  if (kind === 'shared') {
    const worker = new SharedWorker(new URL('./shared.ts', import.meta.url), { type: 'module' });
    return new Promise<ContextReply>((resolve) => {
      worker.port.onmessage = (e: MessageEvent<ContextReply>) => resolve(e.data);
      worker.port.postMessage(request);
    });
  }
  // Built on its own as sw.js (service workers may not import() at run time).
  const registration = await navigator.serviceWorker.register('./sw.js', { type: 'module' });
  await navigator.serviceWorker.ready;
  const active = registration.active ?? (await navigator.serviceWorker.ready).active!;
  const channel = new MessageChannel();
  return new Promise<ContextReply>((resolve) => {
    channel.port1.onmessage = (e: MessageEvent<ContextReply>) => resolve(e.data);
    active.postMessage(request, [channel.port2]);
  });
}

(window as unknown as { ask: typeof ask }).ask = ask;
document.title = 'ready';
