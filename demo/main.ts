/**
 * The playground: opens a store (OPFS in a browser that has it) served by a worker with a
 * `cart_totals` projection, appends from a form, pages through the log (newest first) and
 * shows the open carts live with `watch`.
 */
import { isCairnError, openStore, type EventFilter, type ExpectedVersion, type PageArgs } from 'cairndb';

const PAGE_SIZE = 15;
const $ = <T extends HTMLElement>(id: string) => document.getElementById(id) as T;

const store = await openStore({
  name: 'playground',
  worker: () => new Worker(new URL('./shop.worker.ts', import.meta.url), { type: 'module' }),
});
$('status').textContent = `Store "${store.name}" is open on ${store.storage} (${store.role}).`;
document.body.dataset.storage = store.storage;

let filter: EventFilter = {};
let page: PageArgs = { last: PAGE_SIZE };

async function render(): Promise<void> {
  const result = await store.read(filter, page);
  const rows = [...result.edges].reverse().map(({ node: e }) => {
    const tr = document.createElement('tr');
    for (const [text, cls] of [
      [String(e.position)],
      [e.stream],
      [String(e.version)],
      [e.type],
      [JSON.stringify(e.data), 'data'],
    ] as const) {
      const td = document.createElement('td');
      td.textContent = text;
      if (cls) td.className = cls;
      tr.append(td);
    }
    return tr;
  });
  $('log').replaceChildren(...rows);
  const { pageInfo } = result;
  $('page-info').textContent = rows.length ? `${rows.length} events` : 'No events yet';
  // Newest first on screen: "newer" pages forward in the log, "older" pages backward.
  const newer = $<HTMLButtonElement>('prev');
  const older = $<HTMLButtonElement>('next');
  newer.disabled = !pageInfo.hasNextPage;
  older.disabled = !pageInfo.hasPreviousPage;
  newer.onclick = () => void go({ first: PAGE_SIZE, after: pageInfo.endCursor ?? '' });
  older.onclick = () => void go({ last: PAGE_SIZE, before: pageInfo.startCursor ?? '' });
}

async function go(next: PageArgs): Promise<void> {
  page = next;
  await render();
}

$<HTMLFormElement>('append-form').addEventListener('submit', async (event) => {
  event.preventDefault();
  const form = new FormData(event.target as HTMLFormElement);
  const out = $('append-result');
  out.className = '';
  try {
    const text = String(form.get('data') ?? '').trim();
    const expected = String(form.get('expectedVersion') ?? '').trim();
    const expectedVersion: ExpectedVersion | undefined =
      expected === '' ? undefined : /^\d+$/.test(expected) ? Number(expected) : (expected as ExpectedVersion);
    const result = await store.append(
      String(form.get('stream')),
      [{ type: String(form.get('type')), data: text === '' ? null : (JSON.parse(text) as unknown) }],
      expectedVersion === undefined ? {} : { expectedVersion },
    );
    out.textContent = `Appended: ${result.stream} is at version ${result.version}, position ${result.position}`;
    await go({ last: PAGE_SIZE });
  } catch (e) {
    out.className = 'error';
    out.textContent = isCairnError(e) ? `${e.code}: ${e.message}` : String(e);
  }
});

$<HTMLFormElement>('filter-form').addEventListener('submit', async (event) => {
  event.preventDefault();
  const form = new FormData(event.target as HTMLFormElement);
  const category = String(form.get('category') ?? '').trim();
  const types = String(form.get('types') ?? '')
    .split(',')
    .map((t) => t.trim())
    .filter(Boolean);
  filter = {};
  if (category) filter.category = category;
  if (types.length) filter.types = types;
  await go({ last: PAGE_SIZE });
});

// The open carts: re-rendered after every commit that changes cart_totals, from any tab.
store.watch<{ id: string; items: number; qty: number }>(
  'SELECT id, items, qty FROM cart_totals ORDER BY id',
  [],
  (carts) => {
    $('carts').replaceChildren(
      ...carts.map(({ id, items, qty }) => {
        const li = document.createElement('li');
        li.textContent = `${id}: ${items} line${items === 1 ? '' : 's'}, ${qty} item${qty === 1 ? '' : 's'}`;
        return li;
      }),
    );
    $('cart-count').textContent = String(carts.length);
  },
);

await render();

// Data: export and import NDJSON, back up the store and restore a backup into a new store.
// Built here rather than in index.html so the playground's markup stays as it is.
function dataControls(): void {
  const section = document.createElement('section');
  section.id = 'data';
  const out = document.createElement('output');
  out.id = 'data-result';
  const button = (id: string, label: string, run: () => Promise<string>): HTMLButtonElement => {
    const b = document.createElement('button');
    b.id = id;
    b.textContent = label;
    b.onclick = () =>
      void run().then(
        (text) => ((out.className = ''), (out.textContent = text)),
        (e: unknown) => ((out.className = 'error'), (out.textContent = isCairnError(e) ? `${e.code}: ${e.message}` : String(e))),
      );
    return b;
  };
  const pick = (accept: string): Promise<File | undefined> =>
    new Promise((resolve) => {
      const input = Object.assign(document.createElement('input'), { type: 'file', accept });
      input.onchange = () => resolve(input.files?.[0]);
      input.click();
    });
  const download = (blob: Blob, file: string): void => {
    const a = Object.assign(document.createElement('a'), { href: URL.createObjectURL(blob), download: file });
    a.click();
    URL.revokeObjectURL(a.href);
  };
  section.append(
    Object.assign(document.createElement('h2'), { textContent: 'Data' }),
    button('export', 'Export NDJSON', async () => {
      const blob = await new Response(store.export()).blob();
      download(blob, `${store.name}.ndjson`);
      return `Exported ${blob.size} bytes`;
    }),
    button('import', 'Import NDJSON…', async () => {
      const file = await pick('.ndjson,application/x-ndjson,text/plain');
      if (file === undefined) return 'Nothing imported';
      const { imported, skipped } = await store.import(file);
      await go({ last: PAGE_SIZE });
      return `Imported ${imported} events, skipped ${skipped} already there`;
    }),
    button('backup', 'Back up', async () => {
      const bytes = await store.backup();
      download(new Blob([bytes as Uint8Array<ArrayBuffer>]), `${store.name}.sqlite3`);
      return `Backed up ${bytes.length} bytes`;
    }),
    button('restore', 'Restore into a new store…', async () => {
      const file = await pick('.sqlite3,application/vnd.sqlite3');
      if (file === undefined) return 'Nothing restored';
      const name = `${store.name}-restored-${Date.now()}`;
      const copy = await openStore({ name, restore: new Uint8Array(await file.arrayBuffer()) });
      const head = await copy.head();
      await copy.close();
      return `Restored into "${name}": ${head} events`;
    }),
    out,
  );
  document.querySelector('main')?.append(section) ?? document.body.append(section);
}
dataControls();
