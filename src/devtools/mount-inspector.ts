/**
 * `mountInspector`: the inspector's tiny entry. It only makes the shadow root and loads the
 * inspector's code (`inspector-app.ts`) with `import()`, so an app pays for the inspector
 * only once it mounts one. Consumers registered before the code has arrived are handed
 * over when it does.
 */
import type { Consumer } from '../client/consumer.ts';
import type { InspectedStore, InspectorView } from './context.ts';
import type { InspectorApp, InspectorOptions } from './inspector-app.ts';

/** A mounted inspector. */
export interface Inspector {
  /** Resolves once the inspector's code has loaded and it shows the store. */
  readonly ready: Promise<void>;
  /**
   * Lets the inspector retry and discard the dead letters of a consumer or process manager
   * of this tab (retrying runs its handler, which only the app has). Returns a function that
   * forgets it.
   */
  register(consumer: Consumer): () => void;
  /** Opens one of the views. */
  show(view: InspectorView): void;
  /** Removes the inspector and stops everything it started. */
  close(): void;
}

/**
 * Mounts the inspector on `store` inside `element`, in a shadow root of its own (its styles
 * never meet the page's). Needs no framework; loads its code on first call.
 * @example
 * import { mountInspector } from 'cairndb/devtools';
 * const inspector = mountInspector(store, document.getElementById('devtools')!);
 * inspector.register(mailer); // retry and discard its dead letters from the inspector
 */
export function mountInspector(store: InspectedStore, element: Element, options: InspectorOptions = {}): Inspector {
  // A child of our own: `element` may already have a shadow root, or be one that cannot have one.
  const host = document.createElement('div');
  host.setAttribute('data-cairn-inspector', '');
  host.style.height = '100%';
  element.append(host);
  const inspector = openInspector(store, host.attachShadow({ mode: 'open' }), options);
  const close = inspector.close;
  return { ...inspector, close: () => (close(), host.remove()) };
}

/** Loads the inspector into a shadow root; shared by `mountInspector` and `<cairn-inspector>`. */
export function openInspector(store: InspectedStore, root: ShadowRoot, options: InspectorOptions = {}): Inspector {
  let app: InspectorApp | undefined;
  let closed = false;
  let view = options.view;
  // Before the code arrives: registrations wait here, each with the function that undoes it once handed over.
  const waiting = new Map<Consumer, (() => void) | undefined>();
  root.replaceChildren(loadingNote());
  const ready = import('./inspector-app.ts').then(({ startInspector }) => {
    if (closed) return;
    app = startInspector(store, root, view === undefined ? {} : { view });
    for (const consumer of waiting.keys()) waiting.set(consumer, app.register(consumer));
  });
  ready.catch((e: unknown) => {
    if (!closed) root.replaceChildren(loadingNote(`The inspector could not be loaded: ${String(e)}`));
  });
  return {
    ready,
    register(consumer) {
      waiting.set(consumer, app?.register(consumer));
      return () => {
        waiting.get(consumer)?.();
        waiting.delete(consumer);
      };
    },
    show(next) {
      view = next;
      app?.show(next);
    },
    close() {
      closed = true;
      app?.close();
      root.replaceChildren();
    },
  };
}

function loadingNote(text = 'Loading the Cairn inspector…'): HTMLElement {
  const p = document.createElement('p');
  p.textContent = text;
  p.style.cssText = 'font: 13px system-ui, sans-serif; color: #66707c; margin: 8px;';
  return p;
}
