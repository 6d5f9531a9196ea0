/**
 * The inspector itself, loaded by `mountInspector` on first use: the header (store, role,
 * head), the tab strip, and the views, each built the first time its tab is opened. The
 * SQL console's editor (CodeMirror) and the activity chart (uPlot) are loaded later still,
 * when their views first open.
 *
 * Everything it starts (listeners, watches, timers, the presence channel) hangs off one
 * AbortSignal, so `close()` leaves nothing running in the app's page.
 */
import type { Consumer } from '../client/consumer.ts';
import { CommitStats } from './commit-stats.ts';
import { VIEWS, type ConsumerRegistry, type InspectedStore, type InspectorContext, type InspectorView, type LogTarget, type View } from './context.ts';
import { fill, h, throttle } from './dom.ts';
import { Presence } from './presence.ts';
import { INSPECTOR_CSS } from './styles.ts';
import { ActivityView } from './views/activity-view.ts';
import { ConsumersView } from './views/consumers-view.ts';
import { LogView } from './views/log-view.ts';
import { ProjectionsView } from './views/projections-view.ts';
import { SqlView } from './views/sql-view.ts';
import { StorageView } from './views/storage-view.ts';
import { StreamsView } from './views/streams-view.ts';
import { TabsView } from './views/tabs-view.ts';

/** Options of the inspector. */
export interface InspectorOptions {
  /** The view open at first. Default `'log'`. */
  view?: InspectorView;
}

/** A running inspector. */
export interface InspectorApp {
  /** Lets the inspector retry and discard this consumer's dead letters; returns a function that forgets it. */
  register(consumer: Consumer): () => void;
  /** Opens a view. */
  show(view: InspectorView): void;
  /** Removes the inspector and stops everything it started. */
  close(): void;
}

const LABELS: Record<InspectorView, string> = {
  log: 'Log',
  streams: 'Streams',
  sql: 'SQL',
  projections: 'Projections',
  consumers: 'Consumers',
  tabs: 'Tabs',
  activity: 'Activity',
  storage: 'Storage',
};

/** The consumers the app registered, by name, and who wants to hear of a change. */
function consumerRegistry(): ConsumerRegistry & { register(consumer: Consumer): () => void } {
  const registered = new Map<string, Consumer>();
  const listeners = new Set<() => void>();
  const changed = () => {
    for (const listener of listeners) listener();
  };
  return {
    get: (name) => registered.get(name),
    onChange(listener) {
      listeners.add(listener);
      return () => void listeners.delete(listener);
    },
    register(consumer) {
      registered.set(consumer.name, consumer);
      changed();
      return () => {
        if (registered.get(consumer.name) !== consumer) return;
        registered.delete(consumer.name);
        changed();
      };
    },
  };
}

/** The inspector's frame: the bar (name, storage, role, head), the view tabs and the view's place. */
function inspectorFrame(store: InspectedStore, root: ShadowRoot) {
  const role = h('span', { class: `badge ${store.role}`, 'data-role': store.role }, store.role);
  const head = h('span', { class: 'muted' });
  const tabs = h('nav', { class: 'tabs', role: 'tablist' });
  const main = h('main', { class: 'view' });
  const frame = h(
    'div',
    { class: 'inspector', part: 'inspector' },
    h(
      'header',
      { class: 'bar' },
      h('span', { class: 'title' }, 'Cairn inspector'),
      h('span', { class: 'mono' }, store.name),
      h('span', { class: 'badge', title: 'Where the data lives (store.storage)' }, store.storage),
      role,
      h('span', { class: 'spacer' }),
      head,
    ),
    tabs,
    main,
  );
  root.replaceChildren(h('style', null, INSPECTOR_CSS), frame);
  return { role, head, tabs, main };
}

/** Keeps the bar's role badge and the presence record current; returns the role history. */
function followRole(store: InspectedStore, badge: HTMLElement, presence: Presence, signal: AbortSignal): { at: number; role: string }[] {
  // Kept from the start, not from when the Tabs view first opens: a handover is the thing to see.
  const roles = [{ at: Date.now(), role: store.role as string }];
  const off = store.onRoleChange((r) => {
    roles.push({ at: Date.now(), role: r });
    badge.textContent = r;
    badge.className = `badge ${r}`;
    badge.dataset.role = r;
    presence.setRole(r);
  });
  signal.addEventListener('abort', off, { once: true });
  return roles;
}

/** Keeps the bar's head position current (at most four times a second). */
function followHead(store: InspectedStore, element: HTMLElement, signal: AbortSignal): void {
  let value: number | undefined;
  const render = throttle(() => (element.textContent = value === undefined ? '' : `head ${value}`), 250);
  signal.addEventListener('abort', render.cancel, { once: true });
  const advance = (head: number) => {
    value = Math.max(value ?? 0, head);
    render();
  };
  const off = store.onCommit((n) => advance(n.head));
  signal.addEventListener('abort', off, { once: true });
  void store.head().then(advance, () => {});
}

/** Starts an inspector on `store` inside `root`. */
export function startInspector(store: InspectedStore, root: ShadowRoot, options: InspectorOptions = {}): InspectorApp {
  const lifetime = new AbortController();
  const signal = lifetime.signal;
  const registry = consumerRegistry();
  const presence = new Presence(store.name, store.role, signal);
  const { role, head, tabs, main } = inspectorFrame(store, root);
  const roles = followRole(store, role, presence, signal);
  followHead(store, head, signal);

  const views = new Map<InspectorView, View>();
  let current: InspectorView | undefined;
  const context: InspectorContext = {
    store,
    consumers: registry,
    stats: new CommitStats(store, signal),
    presence,
    signal,
    roles,
    openLog(target: LogTarget) {
      show('log');
      (views.get('log') as LogView).open(target);
    },
  };
  const buttons = new Map<InspectorView, HTMLButtonElement>();
  for (const name of VIEWS) {
    const button = h('button', { role: 'tab', 'data-view': name, 'aria-selected': 'false', onclick: () => show(name) }, LABELS[name]);
    buttons.set(name, button);
    tabs.append(button);
  }

  function show(name: InspectorView): void {
    if (signal.aborted || !VIEWS.includes(name)) return;
    if (current !== undefined && current !== name) views.get(current)?.hide();
    let view = views.get(name);
    if (view === undefined) {
      view = createView(name, context);
      views.set(name, view);
    }
    for (const [n, b] of buttons) b.setAttribute('aria-selected', String(n === name));
    fill(main, view.element);
    main.dataset.view = name;
    if (current !== name) view.show();
    current = name;
  }

  show(options.view !== undefined && VIEWS.includes(options.view) ? options.view : 'log');

  return {
    register: registry.register,
    show,
    close() {
      if (signal.aborted) return;
      if (current !== undefined) views.get(current)?.hide();
      lifetime.abort();
      root.replaceChildren();
    },
  };
}

function createView(name: InspectorView, context: InspectorContext): View {
  switch (name) {
    case 'log':
      return new LogView(context);
    case 'streams':
      return new StreamsView(context);
    case 'sql':
      return new SqlView(context);
    case 'projections':
      return new ProjectionsView(context);
    case 'consumers':
      return new ConsumersView(context);
    case 'tabs':
      return new TabsView(context);
    case 'activity':
      return new ActivityView(context);
    case 'storage':
      return new StorageView(context);
  }
}
