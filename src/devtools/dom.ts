/**
 * A few lines of DOM building for the inspector's views, so that it needs no framework of
 * its own and imposes none on the app that mounts it. Text always goes in as text nodes:
 * event data and SQL results are shown, never parsed as HTML.
 */

/** What `h` accepts as children: nodes, text, and nothing (skipped). */
export type Child = Node | string | number | null | undefined | false | readonly Child[];

/** Attributes, properties (`value`, `checked`, `disabled`) and listeners (`onclick`...). */
export type Props = Record<string, string | number | boolean | null | undefined | ((event: Event) => void)>;

// Set as properties, not attributes: their attribute only gives the initial value.
const PROPERTIES = new Set(['value', 'checked', 'disabled', 'selected', 'indeterminate']);

/** Builds an element: `h('button', { class: 'primary', onclick }, 'Run')`. */
export function h<K extends keyof HTMLElementTagNameMap>(tag: K, props?: Props | null, ...children: Child[]): HTMLElementTagNameMap[K] {
  const el = document.createElement(tag);
  for (const [key, value] of Object.entries(props ?? {})) {
    if (value === undefined || value === null || value === false) {
      if (PROPERTIES.has(key)) (el as unknown as Record<string, unknown>)[key] = false;
      continue;
    }
    if (typeof value === 'function') el.addEventListener(key.slice(2), value);
    else if (PROPERTIES.has(key)) (el as unknown as Record<string, unknown>)[key] = value;
    else if (key === 'class') el.className = String(value);
    else el.setAttribute(key, value === true ? '' : String(value));
  }
  append(el, children);
  return el;
}

/** Replaces an element's children. */
export function fill(el: Element, ...children: Child[]): void {
  el.replaceChildren();
  append(el, children);
}

/** Milliseconds since the epoch as local time of day, to the millisecond. */
export function timeOfDay(ms: number): string {
  const d = new Date(ms);
  const pad = (n: number, w = 2): string => String(n).padStart(w, '0');
  return `${pad(d.getHours())}:${pad(d.getMinutes())}:${pad(d.getSeconds())}.${pad(d.getMilliseconds(), 3)}`;
}

/** Bytes as KB, MB or GB, for storage figures. */
export function bytes(n: number): string {
  if (n < 1024) return `${n} B`;
  const units = ['KB', 'MB', 'GB', 'TB'];
  let v = n / 1024;
  let i = 0;
  while (v >= 1024 && i < units.length - 1) {
    v /= 1024;
    i++;
  }
  return `${v.toFixed(v < 10 ? 1 : 0)} ${units[i]}`;
}

/** How an error reads in a view: its Cairn `code` first, when it has one. */
export function describeError(e: unknown): { code: string | undefined; message: string } {
  const code = (e as { code?: unknown } | null)?.code;
  const own = (e as { message?: unknown } | null)?.message;
  // Errors, and error-shaped data (`{ code, message }`, as a sync status carries).
  const message = typeof own === 'string' ? own : String(e);
  return { code: typeof code === 'string' ? code : undefined, message };
}

/** An error as a line of the view: `CODE: message`. */
export function errorBox(e: unknown): HTMLElement {
  const { code, message } = describeError(e);
  return h('div', { class: 'error', role: 'alert' }, code === undefined ? null : h('code', { class: 'code' }, code), ' ', message);
}

/** A value as JSON text, short enough for a table cell. */
export function preview(value: unknown, max = 120): string {
  let text: string;
  try {
    text = JSON.stringify(value) ?? String(value);
  } catch {
    text = String(value);
  }
  return text.length > max ? `${text.slice(0, max - 1)}…` : text;
}

/**
 * Calls `fn` at most once per `ms`, and once more after the last call of a burst, so a view
 * fed by commit notices (thousands a second under load) re-renders a few times a second.
 */
export function throttle(fn: () => void, ms: number): { (): void; cancel(): void } {
  let timer: ReturnType<typeof setTimeout> | undefined;
  let last = 0;
  const run = (): void => {
    timer = undefined;
    last = Date.now();
    fn();
  };
  const throttled = (): void => {
    if (timer !== undefined) return;
    timer = setTimeout(run, Math.max(0, last + ms - Date.now()));
  };
  throttled.cancel = (): void => {
    if (timer !== undefined) clearTimeout(timer);
    timer = undefined;
  };
  return throttled;
}

function append(el: Element, children: readonly Child[]): void {
  for (const child of children) {
    if (child === null || child === undefined || child === false) continue;
    if (Array.isArray(child)) append(el, child);
    else if (child instanceof Node) el.append(child);
    else el.append(String(child));
  }
}
