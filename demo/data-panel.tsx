/**
 * The store's data as files: export and import NDJSON, back the store up as a SQLite file,
 * and restore a backup into a new store (the one open here is left as it is).
 */
import { openStore } from 'cairndb';
import { useStore } from 'cairndb/react';
import { useState } from 'react';
import { ErrorText } from './errors.tsx';
import type { ShopEvents } from './shop.ts';

/** Asks the user for a file; undefined if none was chosen. */
function pick(accept: string): Promise<File | undefined> {
  return new Promise((resolve) => {
    const input = Object.assign(document.createElement('input'), { type: 'file', accept });
    input.onchange = () => resolve(input.files?.[0]);
    input.click();
  });
}

function download(blob: Blob, file: string): void {
  const a = Object.assign(document.createElement('a'), { href: URL.createObjectURL(blob), download: file });
  a.click();
  URL.revokeObjectURL(a.href);
}

/** Export, import, backup and restore. */
export function DataPanel() {
  const store = useStore<ShopEvents>();
  const [busy, setBusy] = useState(false);
  const [result, setResult] = useState('');
  const [error, setError] = useState<unknown>();

  const run = (work: () => Promise<string>) => async () => {
    setBusy(true);
    setError(undefined);
    try {
      setResult(await work());
    } catch (e) {
      setError(e);
    } finally {
      setBusy(false);
    }
  };

  const exportEvents = run(async () => {
    const blob = await new Response(store.export()).blob();
    download(blob, `${store.name}.ndjson`);
    return `Exported ${blob.size} bytes`;
  });
  const importEvents = run(async () => {
    const file = await pick('.ndjson,application/x-ndjson,text/plain');
    if (file === undefined) return 'Nothing imported';
    const { imported, skipped } = await store.import(file);
    return `Imported ${imported} events, skipped ${skipped} already there`;
  });
  const backup = run(async () => {
    const bytes = await store.backup();
    download(new Blob([bytes as Uint8Array<ArrayBuffer>]), `${store.name}.sqlite3`);
    return `Backed up ${bytes.length} bytes`;
  });
  const restore = run(async () => {
    const file = await pick('.sqlite3,application/vnd.sqlite3');
    if (file === undefined) return 'Nothing restored';
    const name = `${store.name}-restored-${Date.now()}`;
    const copy = await openStore({ name, restore: new Uint8Array(await file.arrayBuffer()) });
    try {
      return `Restored into "${name}": ${await copy.head()} events`;
    } finally {
      await copy.close();
    }
  });

  return (
    <section className="panel" id="data">
      <h2>Data</h2>
      <div className="row">
        <button type="button" data-action="export" disabled={busy} onClick={() => void exportEvents()}>
          Export NDJSON
        </button>
        <button type="button" data-action="import" disabled={busy} onClick={() => void importEvents()}>
          Import NDJSON…
        </button>
        <button type="button" data-action="backup" disabled={busy} onClick={() => void backup()}>
          Back up
        </button>
        <button type="button" data-action="restore" disabled={busy} onClick={() => void restore()}>
          Restore into a new store…
        </button>
      </div>
      <output data-testid="data-result">{result}</output>
      <ErrorText error={error} />
    </section>
  );
}
