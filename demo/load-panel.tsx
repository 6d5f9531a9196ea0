/**
 * The load generator: 10,000 events in batches (group-committed appends of 500 events), or
 * 10 writers appending one event at a time concurrently, which the store group-commits.
 * Watch the inspector's activity chart while they run.
 */
import { useStore } from 'cairndb/react';
import { useState } from 'react';
import { ErrorText } from './errors.tsx';
import type { ShopEvents } from './shop.ts';

/** The load generator. */
export function LoadPanel() {
  const store = useStore<ShopEvents>();
  const [running, setRunning] = useState(false);
  const [result, setResult] = useState('');
  const [error, setError] = useState<unknown>();

  const run = async (label: string, work: (progress: (n: number) => void) => Promise<number>) => {
    setRunning(true);
    setError(undefined);
    const started = performance.now();
    try {
      const total = await work((n) => setResult(`${label}: ${n} events…`));
      const s = (performance.now() - started) / 1000;
      setResult(`${label}: ${total} events in ${s.toFixed(2)} s (${Math.round(total / s)} events/s)`);
    } catch (e) {
      setError(e);
    } finally {
      setRunning(false);
    }
  };

  const batches = () =>
    run('10,000 events', async (progress) => {
      const run = Date.now().toString(36);
      let done = 0;
      // Two appends in flight: while one commits, the next is validated and sent.
      for (let b = 0; b < 20; b += 2) {
        await Promise.all(
          [b, b + 1].map((i) =>
            store.append(`load-${run}x${i}`, Array.from({ length: 500 }, (_, k) => ({ type: 'LoadTested' as const, data: { n: i * 500 + k } }))),
          ),
        );
        done += 1_000;
        progress(done);
      }
      return done;
    });

  const writers = () =>
    run('10 writers × 200', async (progress) => {
      const run = Date.now().toString(36);
      let done = 0;
      await Promise.all(
        Array.from({ length: 10 }, async (_, w) => {
          for (let i = 0; i < 200; i++) {
            await store.append(`writer-${run}x${w}`, [{ type: 'LoadTested', data: { n: i, writer: w } }]);
            if (++done % 250 === 0) progress(done);
          }
        }),
      );
      return done;
    });

  return (
    <section className="panel">
      <h2>Load</h2>
      <div className="row">
        <button type="button" data-action="append-10k" disabled={running} onClick={() => void batches()}>
          Append 10,000 events
        </button>
        <button type="button" data-action="writers" disabled={running} onClick={() => void writers()}>
          10 concurrent writers
        </button>
      </div>
      <output data-testid="load-result">{result}</output>
      <ErrorText error={error} />
    </section>
  );
}
