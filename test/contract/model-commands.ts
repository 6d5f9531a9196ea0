/**
 * The commands of the model test, and how a store runs them. No test library here: the
 * harness page imports `runGroups` to run, through the worker, the same groups that the
 * Node side generated and will check (`model.ts`).
 *
 * A group is issued at once, without awaiting, as an app's handlers would; the next group
 * starts when every call of the one before has settled.
 */
import type { ExpectedVersion, Store } from '../../src/client/index.ts';

/** One event as the test appends it; `id` is set unless the store is to assign it. */
export interface ModelEvent {
  type: string;
  data: { n: number };
  id?: string;
}

/** A call on the store, with everything decided beforehand. */
export type Command =
  | { op: 'append'; stream: string; events: ModelEvent[]; expectedVersion: ExpectedVersion }
  | { op: 'appendMany'; entries: { stream: string; events: ModelEvent[]; expectedVersion: ExpectedVersion }[] }
  | { op: 'readStream'; stream: string }
  | { op: 'readAll' }
  | { op: 'readTypes'; types: string[] };

/** An event as read back. */
export interface SeenEvent {
  id: string;
  stream: string;
  version: number;
  position: number;
  type: string;
  n: number;
}

/** What a call gave: its result, or its error's code. */
export type Outcome =
  | { ok: true; result: { stream: string; version: number; position: number; ids: string[] }[] }
  | { ok: true; events: SeenEvent[] }
  | { ok: false; code: string };

const seen = (e: { id: string; stream: string; version: number; position: number; type: string; data: unknown }): SeenEvent => ({
  id: e.id,
  stream: e.stream,
  version: e.version,
  position: e.position,
  type: e.type,
  n: (e.data as { n: number }).n,
});

async function all(iterable: AsyncIterable<Parameters<typeof seen>[0]>): Promise<SeenEvent[]> {
  const out: SeenEvent[] = [];
  for await (const e of iterable) out.push(seen(e));
  return out;
}

function run(store: Store, command: Command): Promise<Outcome> {
  const settle = async (work: () => Promise<Outcome>): Promise<Outcome> => {
    try {
      return await work();
    } catch (e) {
      return { ok: false, code: String((e as { code?: unknown }).code ?? `not a CairnError: ${String(e)}`) };
    }
  };
  switch (command.op) {
    case 'append':
      return settle(async () => {
        const r = await store.append(command.stream, command.events, { expectedVersion: command.expectedVersion });
        return { ok: true, result: [r] };
      });
    case 'appendMany':
      return settle(async () => ({ ok: true, result: await store.appendMany(command.entries) }));
    case 'readStream':
      return settle(async () => ({ ok: true, events: (await store.readStream(command.stream)).map(seen) }));
    case 'readAll':
      return settle(async () => ({ ok: true, events: await all(store.events({}, { batchSize: 7 })) }));
    case 'readTypes':
      return settle(async () => ({ ok: true, events: await all(store.events({ types: command.types }, { batchSize: 5 })) }));
  }
}

/** Runs the groups in order, each group's calls at once; returns every call's outcome. */
export async function runGroups(store: Store, groups: readonly Command[][]): Promise<Outcome[][]> {
  const outcomes: Outcome[][] = [];
  for (const group of groups) outcomes.push(await Promise.all(group.map((c) => run(store, c))));
  return outcomes;
}
