// An app on cairndb/react, from the package: a live query under Suspense, a stream of new
// events, an aggregate's state, and a button that appends through the store.
import { openStore, type AggregateDefinition } from 'cairndb';
import { CairnProvider, useAggregate, useQuery, useStore, useStream } from 'cairndb/react';
import { createElement as h, Suspense } from 'react';
import { createRoot } from 'react-dom/client';

type Events = { Counted: { by: number } };
type Counter = { total: number };

const counter: AggregateDefinition<Counter, { by: number }, Events> = {
  category: 'counter',
  initialState: () => ({ total: 0 }),
  evolve: (state, e) => ({ total: state.total + e.data.by }),
  decide: (command) => [{ type: 'Counted', data: { by: command.by } }],
};

function Count() {
  const [row] = useQuery<{ n: number }>("SELECT count(*) AS n FROM events WHERE type = 'Counted'");
  return h('p', { id: 'count' }, `events: ${row?.n ?? 0}`);
}

function Total() {
  const { state, version, handle } = useAggregate(counter, 'c1');
  return h('div', null,
    h('p', { id: 'total' }, `total: ${state.total} at version ${version}`),
    h('button', { id: 'add', type: 'button', onClick: () => void handle({ by: 2 }) }, 'Add 2'));
}

function Feed() {
  const events = useStream<Events>({ category: 'counter' }, { from: 'end' });
  return h('p', { id: 'feed' }, `new: ${events.map((e) => e.data.by).join(',')}`);
}

function Append() {
  const store = useStore<Events>();
  return h('button', { id: 'append', type: 'button', onClick: () => void store.append('counter-c1', [{ type: 'Counted', data: { by: 1 } }]) }, 'Append 1');
}

try {
  const store = await openStore<Events>({ name: 'react-app' });
  createRoot(document.getElementById('root')!).render(
    h(CairnProvider<Events>, { store },
      h(Suspense, { fallback: h('p', { id: 'loading' }, 'loading') }, h(Count), h(Total)),
      h(Feed),
      h(Append)),
  );
  document.title = 'ready';
} catch (e) {
  console.error(`react app failed: ${String(e)}`);
  document.title = 'failed';
}
