// A shared worker of the app that opens a store itself.
import { openInContext, type ContextRequest } from './open-in-context.ts';

addEventListener('connect', (event: Event) => {
  const port = (event as MessageEvent).ports[0]!;
  port.addEventListener('message', (message: MessageEvent<ContextRequest>) => {
    void openInContext(message.data).then((reply) => port.postMessage(reply));
  });
  port.start();
});
