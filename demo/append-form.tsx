/**
 * Append any event to any stream, with an expected version: the raw API, for trying out
 * optimistic concurrency (a stale expected version fails with VERSION_CONFLICT).
 */
import type { ExpectedVersion } from 'cairndb';
import { useStore } from 'cairndb/react';
import { useState, type FormEvent } from 'react';
import { ErrorText } from './errors.tsx';

/** The raw append form. */
export function AppendForm() {
  const store = useStore();
  const [result, setResult] = useState('');
  const [error, setError] = useState<unknown>();

  const submit = async (event: FormEvent<HTMLFormElement>) => {
    event.preventDefault();
    const form = new FormData(event.currentTarget);
    setError(undefined);
    setResult('');
    try {
      const text = String(form.get('data') ?? '').trim();
      const expected = String(form.get('expectedVersion') ?? '').trim();
      const expectedVersion: ExpectedVersion | undefined =
        expected === '' ? undefined : /^\d+$/.test(expected) ? Number(expected) : (expected as ExpectedVersion);
      const r = await store.append(
        String(form.get('stream')),
        [{ type: String(form.get('type')), data: text === '' ? null : (JSON.parse(text) as unknown) }],
        expectedVersion === undefined ? {} : { expectedVersion },
      );
      setResult(`Appended: ${r.stream} is at version ${r.version}, position ${r.position}`);
    } catch (e) {
      setError(e);
    }
  };

  return (
    <section className="panel">
      <details>
        <summary>
          <h2>Append any event</h2>
        </summary>
        <form id="append-form" onSubmit={(e) => void submit(e)}>
          <label>
            Stream <input name="stream" defaultValue="note-1" required />
          </label>
          <label>
            Type <input name="type" defaultValue="NoteTaken" required />
          </label>
          <label>
            Data (JSON) <textarea name="data" rows={2} defaultValue='{ "text": "hello" }' />
          </label>
          <label>
            Expected version <input name="expectedVersion" placeholder="any, no_stream, stream_exists or a number" />
          </label>
          <button type="submit">Append</button>
          <output id="append-result">{result}</output>
          <ErrorText error={error} />
        </form>
      </details>
    </section>
  );
}
