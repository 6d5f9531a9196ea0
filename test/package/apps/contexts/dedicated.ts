// A dedicated worker of the app that opens a store itself.
import { openInContext, type ContextRequest } from './open-in-context.ts';

addEventListener('message', (event: MessageEvent<ContextRequest>) => {
  void openInContext(event.data).then((reply) => postMessage(reply));
});
