/**
 * The SQL console: one read-only statement at a time through `store.query`, or live through
 * `store.watch` (the toggle), with the rows as a table and errors with their Cairn `code`.
 * The editor (CodeMirror, loaded when this view first opens) completes the store's tables
 * and columns, read from `sqlite_schema` and `pragma_table_info`. Statements run are kept
 * in localStorage, per store, most recent first.
 */
import type { Watch } from '../../client/watch.ts';
import type { Row } from '../../core/driver.ts';
import type { InspectorContext, View } from '../context.ts';
import { describeError, errorBox, fill, h, preview, timeOfDay } from '../dom.ts';
import type { SqlEditor } from '../sql-editor.ts';

const DEFAULT_SQL = 'SELECT type, count(*) AS events, max(position) AS last FROM events GROUP BY type ORDER BY events DESC';
const MAX_HISTORY = 50;
const MAX_ROWS_SHOWN = 1_000;
const SCHEMA_SQL = `SELECT m.name AS tbl, p.name AS col FROM sqlite_schema m JOIN pragma_table_info(m.name) p
  WHERE m.type IN ('table', 'view') ORDER BY m.name, p.cid`;

/** The SQL console. */
export class SqlView implements View {
  readonly element: HTMLElement;
  readonly #ctx: InspectorContext;
  readonly #editorHost = h('div', { class: 'editor' }, h('p', { class: 'muted' }, 'Loading the editor…'));
  readonly #live = h('input', { type: 'checkbox', name: 'live' });
  readonly #status = h('span', { class: 'muted', 'data-testid': 'sql-status' });
  readonly #results = h('div', { class: 'results', hidden: true });
  readonly #error = h('div', { class: 'sql-error' });
  readonly #history = h('ul', { class: 'history' });
  readonly #historyKey: string;
  #editor: SqlEditor | undefined;
  #pending: string;
  #watch: Watch | undefined;
  #updates = 0;
  #offProgress: (() => void) | undefined;

  constructor(ctx: InspectorContext) {
    this.#ctx = ctx;
    this.#historyKey = `cairn-inspector:${ctx.store.name}:sql-history`;
    this.#pending = this.#loadHistory()[0] ?? DEFAULT_SQL;
    this.#live.addEventListener('change', () => (this.#live.checked ? this.run() : this.#stopLive('Live query stopped.')));
    this.element = h(
      'div',
      { class: 'sql-view' },
      this.#editorHost,
      h(
        'div',
        { class: 'row', style: 'margin-top:6px' },
        h('button', { type: 'button', class: 'primary', 'data-action': 'run', onclick: () => this.run() }, 'Run'),
        h('label', { title: 'Run it again after every commit that writes a table it reads (store.watch)' }, this.#live, 'Live'),
        this.#status,
      ),
      this.#error,
      this.#results,
      h('details', { class: 'history-box', style: 'margin-top:10px' }, h('summary', null, 'History'), this.#history),
    );
    this.#renderHistory();
    void this.#loadEditor();
  }

  show(): void {
    void this.#loadSchema();
    // A new projection (or a rebuilt one) brings new tables to complete.
    this.#offProgress = this.#ctx.store.onProjectionProgress((p) => {
      if (p.state === 'ready') void this.#loadSchema();
    });
    if (this.#live.checked) this.run();
  }

  hide(): void {
    this.#offProgress?.();
    this.#offProgress = undefined;
    this.#watch?.close();
    this.#watch = undefined;
  }

  /** Runs the editor's statement, once or live. */
  run(): void {
    const sql = (this.#editor?.getValue() ?? this.#pending).trim();
    if (sql === '') return;
    this.#remember(sql);
    this.#watch?.close();
    this.#watch = undefined;
    fill(this.#error);
    if (!this.#live.checked) {
      void this.#runOnce(sql);
      return;
    }
    this.#updates = 0;
    this.#status.textContent = 'Live: waiting for the first rows…';
    const w = this.#ctx.store.watch(sql, [], (rows) => {
      if (this.#watch !== w) return;
      this.#updates++;
      this.#renderRows(rows);
      this.#status.textContent = `Live · ${rows.length} rows · run ${this.#updates} time${this.#updates === 1 ? '' : 's'} · last at ${timeOfDay(Date.now())}`;
    });
    this.#watch = w;
    w.done.catch((e: unknown) => {
      if (this.#watch !== w) return;
      this.#watch = undefined;
      this.#live.checked = false;
      this.#showError(e);
    });
  }

  async #runOnce(sql: string): Promise<void> {
    const started = performance.now();
    this.#status.textContent = 'Running…';
    try {
      const rows = await this.#ctx.store.query(sql);
      this.#renderRows(rows);
      this.#status.textContent = `${rows.length} row${rows.length === 1 ? '' : 's'} in ${(performance.now() - started).toFixed(1)} ms`;
    } catch (e) {
      this.#showError(e);
    }
  }

  #stopLive(message: string): void {
    this.#watch?.close();
    this.#watch = undefined;
    this.#status.textContent = message;
  }

  #showError(e: unknown): void {
    const { code } = describeError(e);
    this.#error.dataset.code = code ?? '';
    fill(this.#error, errorBox(e));
    this.#status.textContent = 'Failed.';
  }

  #renderRows(rows: Row[]): void {
    const columns: string[] = [];
    for (const row of rows.slice(0, 50)) for (const key of Object.keys(row)) if (!columns.includes(key)) columns.push(key);
    const cell = (v: unknown): HTMLElement =>
      v === null || v === undefined
        ? h('td', { class: 'muted' }, 'NULL')
        : typeof v === 'number' || typeof v === 'bigint'
          ? h('td', { class: 'num' }, String(v))
          : h('td', { class: 'mono' }, typeof v === 'string' ? (v.length > 300 ? `${v.slice(0, 299)}…` : v) : preview(v, 300));
    fill(
      this.#results,
      h(
        'table',
        { class: 'result-table' },
        h('thead', null, h('tr', null, columns.map((c) => h('th', null, c)))),
        h('tbody', null, rows.slice(0, MAX_ROWS_SHOWN).map((r) => h('tr', null, columns.map((c) => cell(r[c]))))),
      ),
      rows.length > MAX_ROWS_SHOWN ? h('p', { class: 'muted' }, `The first ${MAX_ROWS_SHOWN} of ${rows.length} rows.`) : null,
    );
    this.#results.hidden = false;
  }

  async #loadEditor(): Promise<void> {
    const onRun = (): void => this.run();
    try {
      const { createSqlEditor } = await import('../sql-editor.ts');
      fill(this.#editorHost);
      this.#editor = createSqlEditor(this.#editorHost, this.#pending, onRun);
    } catch {
      // The editor's code could not be loaded (offline, a blocked chunk): a plain text area still runs SQL.
      this.#editor = textAreaEditor(this.#editorHost, this.#pending, onRun);
    }
    this.element.dataset.editor = 'ready';
    void this.#loadSchema();
    this.#ctx.signal.addEventListener('abort', () => this.#editor?.destroy(), { once: true });
  }

  async #loadSchema(): Promise<void> {
    if (this.#editor === undefined) return;
    try {
      const rows = await this.#ctx.store.query<{ tbl: string; col: string }>(SCHEMA_SQL);
      const schema: Record<string, string[]> = {};
      for (const r of rows) (schema[r.tbl] ??= []).push(r.col);
      this.#editor.setSchema(schema);
    } catch {
      // Completion of keywords still works without the schema.
    }
  }

  #loadHistory(): string[] {
    try {
      const list = JSON.parse(localStorage.getItem(this.#historyKey) ?? '[]') as unknown;
      return Array.isArray(list) ? list.filter((s): s is string => typeof s === 'string') : [];
    } catch {
      return []; // No localStorage (a sandboxed frame), or something else wrote the key.
    }
  }

  #remember(sql: string): void {
    const list = [sql, ...this.#loadHistory().filter((s) => s !== sql)].slice(0, MAX_HISTORY);
    try {
      localStorage.setItem(this.#historyKey, JSON.stringify(list));
    } catch {
      // History is a convenience: a full or missing localStorage only loses it.
    }
    this.#renderHistory(list);
  }

  #renderHistory(list = this.#loadHistory()): void {
    fill(
      this.#history,
      list.length === 0
        ? h('li', { class: 'muted' }, 'Nothing run yet.')
        : list.map((sql) =>
            h('li', null, h('button', { type: 'button', title: sql, onclick: () => this.#editor?.setValue(sql) }, sql)),
          ),
    );
  }
}

function textAreaEditor(parent: HTMLElement, initial: string, onRun: () => void): SqlEditor {
  const area = h('textarea', { rows: 5, style: 'width:100%;font-family:var(--mono);border:none;background:var(--bg);color:var(--fg)' });
  area.value = initial;
  area.addEventListener('keydown', (e) => {
    if (e.key === 'Enter' && (e.ctrlKey || e.metaKey)) {
      e.preventDefault();
      onRun();
    }
  });
  fill(parent, area);
  return {
    getValue: () => area.value,
    setValue: (text) => void (area.value = text),
    setSchema: () => {},
    focus: () => area.focus(),
    destroy: () => area.remove(),
  };
}
