/**
 * `<cairn-inspector>`: the inspector as a custom element, for pages that would rather write
 * markup (or use a framework that renders elements) than call `mountInspector`.
 *
 * The class is made inside `defineInspectorElement`, not at import: `HTMLElement` does not
 * exist in Node or in workers, and importing `cairndb/devtools` there must not throw. It
 * mounts when it is connected and has a store, remounts when `store` is set again, and
 * stops everything when removed from the page. Registered consumers outlive remounts.
 */
import type { Consumer } from '../client/consumer.ts';
import type { InspectedStore, InspectorView } from './context.ts';
import { openInspector, type Inspector } from './mount-inspector.ts';

declare global {
  interface HTMLElementTagNameMap {
    /** Defined by `defineInspectorElement()` under its default name. */
    'cairn-inspector': CairnInspectorElement;
  }
}

/** The `<cairn-inspector>` element. */
export interface CairnInspectorElement extends HTMLElement {
  /** The store to inspect; setting it (re)mounts the inspector. */
  store: InspectedStore | undefined;
  /** The inspector while mounted. */
  readonly inspector: Inspector | undefined;
  /** As `Inspector.register`, kept across remounts. */
  register(consumer: Consumer): () => void;
}

/**
 * Defines the custom element (once; later calls return the same class). Its `view`
 * attribute opens a view: `log`, `streams`, `sql`, `projections`, `consumers`, `tabs`,
 * `activity` or `storage`.
 * @example
 * import { defineInspectorElement } from 'cairndb/devtools';
 * defineInspectorElement();
 * const el = document.createElement('cairn-inspector');
 * el.store = store;
 * document.body.append(el);
 */
export function defineInspectorElement(name = 'cairn-inspector'): CustomElementConstructor {
  const existing = customElements.get(name);
  if (existing !== undefined) return existing;

  class InspectorElement extends HTMLElement implements CairnInspectorElement {
    static observedAttributes = ['view'];
    #store: InspectedStore | undefined;
    #inspector: Inspector | undefined;
    readonly #registered = new Set<Consumer>();

    get store(): InspectedStore | undefined {
      return this.#store;
    }

    set store(store: InspectedStore | undefined) {
      if (store === this.#store) return;
      this.#store = store;
      this.#remount();
    }

    get inspector(): Inspector | undefined {
      return this.#inspector;
    }

    register(consumer: Consumer): () => void {
      this.#registered.add(consumer);
      const undo = this.#inspector?.register(consumer);
      return () => {
        this.#registered.delete(consumer);
        undo?.();
      };
    }

    connectedCallback(): void {
      if (!this.style.display) this.style.display = 'block';
      this.#remount();
    }

    disconnectedCallback(): void {
      this.#inspector?.close();
      this.#inspector = undefined;
    }

    attributeChangedCallback(_name: string, _old: string | null, value: string | null): void {
      const view = viewOf(value);
      if (view !== undefined) this.#inspector?.show(view);
    }

    #remount(): void {
      this.#inspector?.close();
      this.#inspector = undefined;
      if (this.#store === undefined || !this.isConnected) return;
      const root = this.shadowRoot ?? this.attachShadow({ mode: 'open' });
      const view = viewOf(this.getAttribute('view'));
      this.#inspector = openInspector(this.#store, root, view === undefined ? {} : { view });
      for (const consumer of this.#registered) this.#inspector.register(consumer);
    }
  }

  customElements.define(name, InspectorElement);
  return InspectorElement;
}

// Not checked against the list of views here, which would bring that list into the tiny
// entry: the inspector ignores a name it does not know.
function viewOf(value: string | null): InspectorView | undefined {
  return value === null || value === '' ? undefined : (value as InspectorView);
}
