/** The newest events as they commit, from any tab (`useStream`, from the end of the log). */
import { useStream } from 'cairndb/react';
import type { ShopEvents } from './shop.ts';

/** The live feed. */
export function LiveFeed() {
  const events = useStream<ShopEvents>({}, { from: 'end', limit: 6 });
  return (
    <section className="panel">
      <h2>Live feed</h2>
      {events.length === 0 ? (
        <p className="muted">New events show here as they commit, from any tab.</p>
      ) : (
        <ol className="feed" data-testid="feed">
          {[...events].reverse().map((e) => (
            <li key={e.id}>
              <code>#{e.position}</code> {e.stream} <b>{e.type}</b>
            </li>
          ))}
        </ol>
      )}
    </section>
  );
}
