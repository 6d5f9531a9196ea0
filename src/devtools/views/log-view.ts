/**
 * The log view: the global log or any stream, newest first, filtered by stream, category,
 * types and routing key (`store.read`, paged both ways with its Relay cursors), or by
 * correlation id (a scan of the `events` table through `store.query`, paged on positions,
 * since no index serves metadata). A selected event shows in full; its correlation and
 * causation ids link to the events they name. On the newest page it follows new commits.
 */
import type { EventFilter, RecordedEvent } from '../../core/types.ts';
import type { SqlValue } from '../../core/driver.ts';
import type { InspectorContext, LogTarget, View } from '../context.ts';
import { errorBox, fill, h, preview, throttle, timeOfDay } from '../dom.ts';

const PAGE_SIZE = 50;

/** Where the page is: at either end, or next to a cursor (a Relay cursor, or a position in correlation mode). */
type PagePlace = { at: 'newest' } | { at: 'oldest' } | { at: 'before' | 'after'; cursor: string };

/** An event as the view shows it; `raw` ones were read from the table as stored, not upcast. */
type ShownEvent = RecordedEvent & { raw?: boolean };

interface LoadedPage {
  events: ShownEvent[];
  hasOlder: boolean;
  hasNewer: boolean;
  startCursor: string | null;
  endCursor: string | null;
}

/** The log view. */
export class LogView implements View {
  readonly element: HTMLElement;
  readonly #ctx: InspectorContext;
  readonly #form: HTMLFormElement;
  readonly #status = h('span', { class: 'muted' });
  readonly #table = h('tbody');
  readonly #detail = h('div', { class: 'detail', hidden: true });
  readonly #split: HTMLElement;
  readonly #pager: Record<'newest' | 'newer' | 'older' | 'oldest', HTMLButtonElement>;
  readonly #follow = h('input', { type: 'checkbox', checked: true, name: 'follow' });
  #filter: EventFilter = {};
  #correlationId: string | undefined;
  #place: PagePlace = { at: 'newest' };
  #page: LoadedPage | undefined;
  #selected: ShownEvent | undefined;
  #visible = false;
  #loading = 0;
  #offCommit: (() => void) | undefined;
  readonly #refresh = throttle(() => void this.#load(), 300);

  constructor(ctx: InspectorContext) {
    this.#ctx = ctx;
    const field = (name: string, label: string, placeholder: string): HTMLElement =>
      h('label', null, label, h('input', { name, placeholder, autocomplete: 'off' }));
    this.#form = h(
      'form',
      { class: 'filters', onsubmit: (e) => this.#onFilter(e) },
      field('stream', 'Stream', 'any'),
      field('category', 'Category', 'any'),
      field('types', 'Types', 'A, B'),
      field('routingKey', 'Routing key', 'any'),
      field('correlationId', 'Correlation', 'any'),
      h('button', { type: 'submit', class: 'primary' }, 'Filter'),
      h('button', { type: 'button', onclick: () => this.open({}) }, 'Clear'),
    );
    const pagerButton = (label: string, title: string, place: () => PagePlace | undefined): HTMLButtonElement =>
      h('button', { type: 'button', title, disabled: true, onclick: () => this.#go(place()) }, label);
    this.#pager = {
      newest: pagerButton('⇤ Newest', 'The newest events', () => ({ at: 'newest' })),
      newer: pagerButton('← Newer', 'The page after this one', () =>
        this.#page?.endCursor == null ? undefined : { at: 'after', cursor: this.#page.endCursor },
      ),
      older: pagerButton('Older →', 'The page before this one', () =>
        this.#page?.startCursor == null ? undefined : { at: 'before', cursor: this.#page.startCursor },
      ),
      oldest: pagerButton('Oldest ⇥', 'The first events of the log', () => ({ at: 'oldest' })),
    };
    this.#follow.addEventListener('change', () => {
      if (this.#follow.checked) this.#refresh();
    });
    const table = h(
      'table',
      { class: 'log' },
      h(
        'thead',
        null,
        h('tr', null, h('th', { class: 'num' }, '#'), h('th', null, 'time'), h('th', null, 'stream'), h('th', { class: 'num' }, 'v'),
          h('th', null, 'type'), h('th', null, 'correlation'), h('th', null, 'data')),
      ),
      this.#table,
    );
    const pager = h(
      'div',
      { class: 'pager' },
      this.#pager.newest,
      this.#pager.newer,
      this.#pager.older,
      this.#pager.oldest,
      h('span', { class: 'spacer' }),
      h('label', { title: 'On the newest page, show new events as they commit' }, this.#follow, 'Follow'),
      this.#status,
    );
    this.#split = h('div', { class: 'split' }, h('div', null, pager, table), this.#detail);
    this.element = h('div', { class: 'log-view' }, this.#form, this.#split);
  }

  show(): void {
    this.#visible = true;
    this.#offCommit = this.#ctx.store.onCommit(() => {
      if (this.#place.at === 'newest' && this.#follow.checked) this.#refresh();
    });
    void this.#load();
  }

  hide(): void {
    this.#visible = false;
    this.#offCommit?.();
    this.#offCommit = undefined;
    this.#refresh.cancel();
  }

  /** Goes to a filter, a correlation or one event (from another view, or a link in this one). */
  open(target: LogTarget): void {
    this.#filter = target.filter ?? {};
    this.#correlationId = target.correlationId;
    this.#place = { at: 'newest' };
    const set = (name: string, value: string | undefined): void => {
      (this.#form.elements.namedItem(name) as HTMLInputElement).value = value ?? '';
    };
    set('stream', this.#filter.stream);
    set('category', this.#filter.category);
    set('types', this.#filter.types?.join(', '));
    set('routingKey', this.#filter.routingKey);
    set('correlationId', this.#correlationId);
    if (target.eventId !== undefined) void this.#selectById(target.eventId);
    if (this.#visible) void this.#load();
  }

  #onFilter(event: Event): void {
    event.preventDefault();
    const form = new FormData(this.#form);
    const text = (name: string): string | undefined => {
      const v = String(form.get(name) ?? '').trim();
      return v === '' ? undefined : v;
    };
    const filter: EventFilter = {};
    const stream = text('stream');
    const category = text('category');
    const routingKey = text('routingKey');
    const types = (text('types') ?? '').split(',').map((t) => t.trim()).filter(Boolean);
    if (stream !== undefined) filter.stream = stream;
    if (category !== undefined) filter.category = category;
    if (routingKey !== undefined) filter.routingKey = routingKey;
    if (types.length > 0) filter.types = types;
    const correlationId = text('correlationId');
    this.open(correlationId === undefined ? { filter } : { filter, correlationId });
  }

  #go(place: PagePlace | undefined): void {
    if (place === undefined) return;
    this.#place = place;
    void this.#load();
  }

  async #load(): Promise<void> {
    const ticket = ++this.#loading;
    try {
      const page = this.#correlationId === undefined ? await this.#readPage() : await this.#queryPage(this.#correlationId);
      if (ticket !== this.#loading) return; // A later load (another filter or page) won.
      this.#page = page;
      this.#render(page);
    } catch (e) {
      if (ticket !== this.#loading) return;
      this.#page = undefined;
      fill(this.#table, h('tr', null, h('td', { colspan: 7 }, errorBox(e))));
      this.#status.textContent = '';
    }
  }

  async #readPage(): Promise<LoadedPage> {
    const place = this.#place;
    const args =
      place.at === 'newest'
        ? { last: PAGE_SIZE }
        : place.at === 'oldest'
          ? { first: PAGE_SIZE }
          : place.at === 'before'
            ? { last: PAGE_SIZE, before: place.cursor }
            : { first: PAGE_SIZE, after: place.cursor };
    const page = await this.#ctx.store.read(this.#filter, args);
    return {
      events: page.edges.map((e) => e.node),
      hasOlder: page.pageInfo.hasPreviousPage,
      hasNewer: page.pageInfo.hasNextPage,
      startCursor: page.pageInfo.startCursor,
      endCursor: page.pageInfo.endCursor,
    };
  }

  async #queryPage(correlationId: string): Promise<LoadedPage> {
    const where = ["json_extract(metadata, '$.correlationId') = ?"];
    const params: SqlValue[] = [correlationId];
    const f = this.#filter;
    if (f.stream !== undefined) (where.push('stream = ?'), params.push(f.stream));
    if (f.category !== undefined) (where.push('category = ?'), params.push(f.category));
    if (f.routingKey !== undefined) (where.push('routing_key = ?'), params.push(f.routingKey));
    if (f.types !== undefined && f.types.length > 0) {
      where.push(`type IN (${f.types.map(() => '?').join(', ')})`);
      params.push(...f.types);
    }
    const place = this.#place;
    const descending = place.at === 'newest' || place.at === 'before';
    const bound = place.at === 'before' ? ' AND position < ?' : place.at === 'after' ? ' AND position > ?' : '';
    const rows = await this.#ctx.store.query<EventRow>(
      `SELECT ${EVENT_COLUMNS} FROM events WHERE ${where.join(' AND ')}${bound}
       ORDER BY position ${descending ? 'DESC' : 'ASC'} LIMIT ${PAGE_SIZE + 1}`,
      'cursor' in place ? [...params, Number(place.cursor)] : params,
    );
    const more = rows.length > PAGE_SIZE;
    const events = rows.slice(0, PAGE_SIZE).map(fromRow);
    if (descending) events.reverse();
    const first = events[0]?.position;
    const last = events.at(-1)?.position;
    let hasOlder = descending ? more : false;
    let hasNewer = descending ? false : more;
    if (first !== undefined && last !== undefined) {
      // The far side of the page, which the LIMIT did not look at.
      const [flags] = await this.#ctx.store.query<{ older: number; newer: number }>(
        `SELECT EXISTS (SELECT 1 FROM events WHERE ${where.join(' AND ')} AND position < ?) AS older,
                EXISTS (SELECT 1 FROM events WHERE ${where.join(' AND ')} AND position > ?) AS newer`,
        [...params, first, ...params, last],
      );
      hasOlder = hasOlder || Boolean(flags?.older);
      hasNewer = hasNewer || Boolean(flags?.newer);
    }
    return {
      events,
      hasOlder,
      hasNewer,
      startCursor: first === undefined ? null : String(first),
      endCursor: last === undefined ? null : String(last),
    };
  }

  #render(page: LoadedPage): void {
    const link = (text: string, title: string, target: LogTarget): HTMLButtonElement =>
      h('button', { type: 'button', class: 'link', title, onclick: (e) => (e.stopPropagation(), this.open(target)) }, text);
    const rows = [...page.events].reverse().map((e) => {
      const correlation = e.metadata?.correlationId;
      return h(
        'tr',
        {
          class: `selectable${this.#selected?.id === e.id ? ' selected' : ''}`,
          'data-position': e.position,
          'data-id': e.id,
          onclick: () => this.#select(e),
        },
        h('td', { class: 'num' }, e.position),
        h('td', { class: 'mono', title: new Date(e.timestamp).toISOString() }, timeOfDay(e.timestamp)),
        h('td', null, link(e.stream, 'Only this stream', { filter: { stream: e.stream } })),
        h('td', { class: 'num' }, e.version),
        h('td', null, e.type),
        h('td', { class: 'mono' }, correlation === undefined ? '' : link(short(correlation), `Events of correlation ${correlation}`, { correlationId: correlation })),
        h('td', { class: 'data' }, preview(e.data)),
      );
    });
    fill(this.#table, rows.length > 0 ? rows : h('tr', null, h('td', { colspan: 7, class: 'muted' }, 'No events match.')));
    this.#pager.newer.disabled = !page.hasNewer;
    this.#pager.newest.disabled = !page.hasNewer;
    this.#pager.older.disabled = !page.hasOlder;
    this.#pager.oldest.disabled = !page.hasOlder;
    const what = this.#correlationId === undefined ? describeFilter(this.#filter) : `correlation ${this.#correlationId}`;
    const first = page.events[0]?.position;
    const last = page.events.at(-1)?.position;
    this.#status.textContent =
      first === undefined ? what : `${what} · positions ${first}–${last} (${page.events.length} events)`;
  }

  #select(e: ShownEvent): void {
    this.#selected = e;
    for (const tr of this.#table.querySelectorAll('tr[data-id]')) {
      tr.classList.toggle('selected', (tr as HTMLElement).dataset.id === e.id);
    }
    this.#renderDetail(e);
  }

  async #selectById(id: string): Promise<void> {
    try {
      const [row] = await this.#ctx.store.query<EventRow>(`SELECT ${EVENT_COLUMNS} FROM events WHERE id = ?`, [id]);
      if (row === undefined) {
        this.#showDetail(h('p', { class: 'muted' }, `No event has the id ${id}.`));
        return;
      }
      this.#select(fromRow(row));
    } catch (e) {
      this.#showDetail(errorBox(e));
    }
  }

  #renderDetail(e: ShownEvent): void {
    const { correlationId, causationId, ...rest } = e.metadata ?? {};
    const link = (text: string, title: string, action: () => void): HTMLButtonElement =>
      h('button', { type: 'button', class: 'link', title, onclick: action }, text);
    const item = (term: string, value: Node | string | number): HTMLElement[] => [h('dt', null, term), h('dd', null, value)];
    this.#showDetail(
      h('div', { class: 'row' }, h('h3', null, `${e.type} · #${e.position}`), h('span', { class: 'spacer' }),
        h('button', { type: 'button', title: 'Close', onclick: () => this.#closeDetail() }, '✕')),
      e.raw === true ? h('p', { class: 'muted' }, 'As stored (read from the events table, not upcast).') : null,
      h(
        'dl',
        null,
        item('id', h('span', { class: 'mono' }, e.id)),
        item('stream', link(e.stream, 'Only this stream', () => this.open({ filter: { stream: e.stream } }))),
        item('category', link(e.category, 'Only this category', () => this.open({ filter: { category: e.category } }))),
        item('version', e.version),
        item('position', e.position),
        item('routing key', e.routingKey ?? '—'),
        item('timestamp', `${new Date(e.timestamp).toISOString()} (${timeOfDay(e.timestamp)} local)`),
        item('schema version', e.schemaVersion),
        item('server position', e.serverPosition ?? '— (not synced)'),
        item(
          'correlation',
          correlationId === undefined
            ? '—'
            : link(correlationId, 'Every event of this correlation', () => this.open({ correlationId })),
        ),
        item(
          'causation',
          causationId === undefined ? '—' : link(causationId, 'The event that caused this one', () => void this.#selectById(causationId)),
        ),
      ),
      Object.keys(rest).length > 0 ? [h('h3', null, 'Other metadata'), h('pre', null, JSON.stringify(rest, null, 2))] : null,
      h('h3', null, 'Data'),
      h('pre', { class: 'event-data' }, JSON.stringify(e.data, null, 2) ?? 'null'),
    );
  }

  #showDetail(...children: (Node | null | Node[])[]): void {
    fill(this.#detail, ...children);
    this.#detail.hidden = false;
    this.#split.classList.add('with-detail');
  }

  #closeDetail(): void {
    this.#selected = undefined;
    this.#detail.hidden = true;
    this.#split.classList.remove('with-detail');
    for (const tr of this.#table.querySelectorAll('tr.selected')) tr.classList.remove('selected');
  }
}

/** The columns of an event, as `fromRow` reads them. */
const EVENT_COLUMNS =
  'position, id, stream, category, version, type, data, metadata, routing_key AS routingKey, timestamp, schema_version AS schemaVersion, server_position AS serverPosition';

interface EventRow {
  position: number;
  id: string;
  stream: string;
  category: string;
  version: number;
  type: string;
  data: string;
  metadata: string | null;
  routingKey: string | null;
  timestamp: number;
  schemaVersion: number;
  serverPosition: number | null;
}

function fromRow(r: EventRow): ShownEvent {
  return {
    id: r.id,
    stream: r.stream,
    category: r.category,
    version: Number(r.version),
    position: Number(r.position),
    type: r.type,
    data: parseJson(r.data),
    metadata: (r.metadata === null ? {} : parseJson(r.metadata)) as RecordedEvent['metadata'],
    routingKey: r.routingKey,
    timestamp: Number(r.timestamp),
    schemaVersion: Number(r.schemaVersion),
    serverPosition: r.serverPosition === null ? null : Number(r.serverPosition),
    raw: true,
  };
}

function parseJson(text: string): unknown {
  try {
    return JSON.parse(text);
  } catch {
    return text;
  }
}

function describeFilter(f: EventFilter): string {
  const parts: string[] = [];
  if (f.stream !== undefined) parts.push(`stream ${f.stream}`);
  if (f.category !== undefined) parts.push(`category ${f.category}`);
  if (f.types !== undefined) parts.push(`types ${f.types.join(', ')}`);
  if (f.routingKey !== undefined) parts.push(`routing key ${f.routingKey}`);
  return parts.length === 0 ? 'the global log' : parts.join(', ');
}

function short(id: string): string {
  return id.length > 14 ? `${id.slice(0, 6)}…${id.slice(-6)}` : id;
}
