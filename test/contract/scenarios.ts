/**
 * The contract suite's scenarios. Each one drives the public API and returns plain data,
 * so the same scenario runs in Node (in-process) and inside a browser page (through the
 * worker), and `contract.ts` asserts the same things of both.
 */
import type { OpenStoreOptions, Store } from '../../src/client/index.ts';
import * as cairn from '../../src/client/index.ts';

/** What a scenario gets: a way to open a fresh store on the target under test. */
export interface ScenarioContext {
  open(options?: Partial<OpenStoreOptions>): Promise<Store>;
}

/** A thrown error, flattened so the caller can check its class and fields. */
export interface Caught {
  name: string;
  code: string | undefined;
  message: string;
  isCairnError: boolean;
  /** `instanceof` the class the code names, checked where the error arrived. */
  isOwnClass: boolean;
  fields: Record<string, unknown>;
}

const CLASS_OF: Record<string, new (...args: never[]) => Error> = {
  VERSION_CONFLICT: cairn.VersionConflictError,
  INVALID_EVENT: cairn.InvalidEventError,
  INVALID_STREAM: cairn.InvalidStreamError,
  INVALID_ARGUMENT: cairn.InvalidArgumentError,
  DUPLICATE_EVENT_ID: cairn.DuplicateEventIdError,
  STORE_CLOSED: cairn.StoreClosedError,
  STORAGE_UNAVAILABLE: cairn.StorageUnavailableError,
  READ_ONLY_QUERY: cairn.ReadOnlyQueryError,
  PROJECTION_FAILED: cairn.ProjectionFailedError,
};

/** Runs `fn` and reports what it threw (or `null` if it did not throw). */
export async function caught(fn: () => Promise<unknown>): Promise<Caught | null> {
  try {
    await fn();
    return null;
  } catch (e) {
    const err = e as Error & Record<string, unknown>;
    const code = typeof err.code === 'string' ? err.code : undefined;
    const cls = code === undefined ? undefined : CLASS_OF[code];
    const fields: Record<string, unknown> = {};
    for (const k of ['stream', 'expected', 'actual', 'id', 'index', 'projection']) if (err[k] !== undefined) fields[k] = err[k];
    return {
      name: err.name,
      code,
      message: err.message,
      isCairnError: e instanceof cairn.CairnError,
      isOwnClass: cls !== undefined && e instanceof cls,
      fields,
    };
  }
}

const ULID_A = '01HZZZZZZZZZZZZZZZZZZZZZZA';
const ULID_B = '01HZZZZZZZZZZZZZZZZZZZZZZB';

/** The scenarios by name. */
export const scenarios = {
  async appendAndRead({ open }: ScenarioContext) {
    const store = await open();
    const first = await store.append(
      'cart-42',
      [
        { type: 'ItemAdded', data: { sku: 'A1', qty: 2 }, metadata: { correlationId: 'c1' } },
        { type: 'ItemAdded', data: { sku: 'B2', qty: 1 } },
      ],
      { expectedVersion: 'no_stream', routingKey: 'eu' },
    );
    const second = await store.append('cart-42', [{ type: 'CheckedOut' }], { expectedVersion: 2 });
    const other = await store.append('inventory', [{ type: 'Restocked', data: [1, 'two', null, true] }]);
    const events = await store.readStream('cart-42');
    const head = await store.head();
    await store.close();
    return { first, second, other, events, head, storage: store.storage, role: store.role };
  },

  async versionConflicts({ open }: ScenarioContext) {
    const store = await open();
    await store.append('order-1', [{ type: 'Placed' }]);
    const conflicts = {
      noStream: await caught(() => store.append('order-1', [{ type: 'X' }], { expectedVersion: 'no_stream' })),
      exact: await caught(() => store.append('order-1', [{ type: 'X' }], { expectedVersion: 5 })),
      streamExists: await caught(() => store.append('order-2', [{ type: 'X' }], { expectedVersion: 'stream_exists' })),
      zeroOnExisting: await caught(() => store.append('order-1', [{ type: 'X' }], { expectedVersion: 0 })),
    };
    const accepted = {
      exact: await store.append('order-1', [{ type: 'Paid' }], { expectedVersion: 1 }),
      exists: await store.append('order-1', [{ type: 'Shipped' }], { expectedVersion: 'stream_exists' }),
      zeroOnEmpty: await store.append('order-3', [{ type: 'Placed' }], { expectedVersion: 0 }),
    };
    const versions = (await store.readStream('order-1')).map((e) => [e.version, e.type]);
    const order2 = await store.readStream('order-2');
    await store.close();
    return { conflicts, accepted, versions, order2Length: order2.length };
  },

  async appendManyAtomic({ open }: ScenarioContext) {
    const store = await open();
    await store.append('b-1', [{ type: 'Seed' }]);
    const failure = await caught(() =>
      store.appendMany([
        { stream: 'a-1', events: [{ type: 'One' }, { type: 'Two' }] },
        { stream: 'b-1', events: [{ type: 'Three' }], expectedVersion: 'no_stream' },
      ]),
    );
    const afterFailure = { a: (await store.readStream('a-1')).length, b: (await store.readStream('b-1')).length, head: await store.head() };
    const results = await store.appendMany([
      { stream: 'a-1', events: [{ type: 'One' }, { type: 'Two' }], expectedVersion: 'no_stream' },
      { stream: 'b-1', events: [{ type: 'Three' }], expectedVersion: 1 },
      { stream: 'a-1', events: [{ type: 'Four' }], expectedVersion: 2 },
    ]);
    const all = [];
    for await (const e of store.events()) all.push([e.position, e.stream, e.version, e.type]);
    await store.close();
    return { failure, afterFailure, results, all };
  },

  async idempotentAppend({ open }: ScenarioContext) {
    const store = await open();
    const events = [
      { type: 'Paid', id: ULID_A, data: { amount: 10 } },
      { type: 'Receipted', id: ULID_B },
    ];
    const first = await store.append('payment-1', events, { expectedVersion: 'no_stream' });
    // A retry of the same append: same ids, same stream. It must not write again or conflict.
    const retry = await store.append('payment-1', events, { expectedVersion: 'no_stream' });
    const lowerCaseRetry = await store.append(
      'payment-1',
      events.map((e) => ({ ...e, id: e.id.toLowerCase() })),
      { expectedVersion: 'no_stream' },
    );
    const elsewhere = await caught(() => store.append('payment-2', [{ type: 'Paid', id: ULID_A }]));
    const partial = await caught(() =>
      store.append('payment-1', [{ type: 'Paid', id: ULID_B }, { type: 'Paid' }]),
    );
    const withinOneAppend = await caught(() =>
      store.append('payment-3', [
        { type: 'X', id: '01J00000000000000000000001' },
        { type: 'Y', id: '01J00000000000000000000001' },
      ]),
    );
    const stored = (await store.readStream('payment-1')).map((e) => e.id);
    const payment2 = (await store.readStream('payment-2')).length;
    const payment3 = (await store.readStream('payment-3')).length;
    const head = await store.head();
    await store.close();
    return { first, retry, lowerCaseRetry, elsewhere, partial, withinOneAppend, stored, payment2, payment3, head };
  },

  async invalidEvents({ open }: ScenarioContext) {
    const store = await open({ maxEventBytes: 1024 });
    await store.append('s-1', [{ type: 'Ok' }]);
    const cyclic: Record<string, unknown> = { a: 1 };
    cyclic.self = cyclic;
    const bad = (data: unknown) => () => store.append('s-1', [{ type: 'Ok' }, { type: 'Bad', data }]);
    const errors = {
      emptyType: await caught(() => store.append('s-1', [{ type: '' }])),
      missingType: await caught(() => store.append('s-1', [{ data: 1 } as never])),
      noEvents: await caught(() => store.append('s-1', [])),
      function: await caught(bad({ f: () => 1 })),
      cycle: await caught(bad(cyclic)),
      bigint: await caught(bad({ n: 10n })),
      nan: await caught(bad({ n: Number.NaN })),
      infinity: await caught(bad([Number.POSITIVE_INFINITY])),
      date: await caught(bad({ at: new Date(0) })),
      undefinedInArray: await caught(bad([1, undefined])),
      symbol: await caught(bad(Symbol('x'))),
      tooLarge: await caught(bad({ text: 'x'.repeat(1100) })),
      tooLargeMultibyte: await caught(bad({ text: 'é'.repeat(600) })),
      notUlid: await caught(() => store.append('s-1', [{ type: 'Ok', id: 'not-a-ulid' }])),
      metadataNotObject: await caught(() => store.append('s-1', [{ type: 'Ok', metadata: 'x' as never }])),
      badExpectedVersion: await caught(() => store.append('s-1', [{ type: 'Ok' }], { expectedVersion: -1 })),
    };
    const fits = await store.append('s-1', [{ type: 'Fits', data: { text: 'x'.repeat(900) } }]);
    const events = (await store.readStream('s-1')).map((e) => e.type);
    const head = await store.head();
    await store.close();
    return { errors, fits, events, head };
  },

  async invalidStreams({ open }: ScenarioContext) {
    const store = await open();
    const errors = {
      empty: await caught(() => store.append('', [{ type: 'X' }])),
      tooLong: await caught(() => store.append('s'.repeat(201), [{ type: 'X' }])),
      newline: await caught(() => store.append('cart\n1', [{ type: 'X' }])),
      nul: await caught(() => store.append('cart\u00001', [{ type: 'X' }])),
      del: await caught(() => store.append('cart\u007f', [{ type: 'X' }])),
      readEmpty: await caught(() => store.readStream('')),
    };
    const longest = await store.append('s'.repeat(200), [{ type: 'X' }]);
    const unicode = await store.append('panier-été-🛒', [{ type: 'X' }]);
    const head = await store.head();
    await store.close();
    return { errors, longest: longest.version, unicode: unicode.version, head };
  },

  async closedStore({ open }: ScenarioContext) {
    const store = await open();
    const pending = store.append('c-1', [{ type: 'BeforeClose' }]);
    const closing = store.close();
    const acknowledged = await pending;
    await closing;
    return {
      acknowledged: acknowledged.version,
      append: await caught(() => store.append('c-1', [{ type: 'AfterClose' }])),
      read: await caught(() => store.readStream('c-1')),
      closeAgain: await caught(() => store.close()),
    };
  },

  async readStreamOptions({ open }: ScenarioContext) {
    const store = await open();
    await store.append('log-1', Array.from({ length: 10 }, (_, i) => ({ type: 'Tick', data: i })));
    const v = (events: { version: number }[]) => events.map((e) => e.version);
    const result = {
      all: v(await store.readStream('log-1')),
      from4: v(await store.readStream('log-1', { fromVersion: 4 })),
      from4limit3: v(await store.readStream('log-1', { fromVersion: 4, limit: 3 })),
      backward: v(await store.readStream('log-1', { direction: 'backward', limit: 3 })),
      backwardFrom5: v(await store.readStream('log-1', { direction: 'backward', fromVersion: 5 })),
      missing: v(await store.readStream('log-2')),
      data: (await store.readStream('log-1', { fromVersion: 10 }))[0]?.data,
    };
    await store.close();
    return result;
  },

  async pagedReads({ open }: ScenarioContext) {
    const store = await open();
    // 30 events: streams cart-0..2 and order-0..1, types cycling, routing keys on odd streams.
    for (let i = 0; i < 30; i++) {
      const stream = i % 5 < 3 ? `cart-${i % 5}` : `order-${(i % 5) - 3}`;
      const type = ['Added', 'Removed', 'Paid'][i % 3]!;
      await store.append(stream, [{ type, data: { i } }], i % 2 === 1 ? { routingKey: 'eu' } : {});
    }
    const positions = (page: { edges: { node: { position: number } }[] }) => page.edges.map((e) => e.node.position);

    // Walk forward through everything in pages of 7, then backward in pages of 4.
    const forward: number[] = [];
    const forwardInfo = [];
    let after: string | undefined;
    for (;;) {
      const page = await store.read({}, after === undefined ? { first: 7 } : { first: 7, after });
      forward.push(...positions(page));
      forwardInfo.push(page.pageInfo.hasNextPage, page.pageInfo.hasPreviousPage);
      if (!page.pageInfo.hasNextPage) break;
      after = page.pageInfo.endCursor!;
    }
    const backward: number[] = [];
    let before: string | undefined;
    for (;;) {
      const page = await store.read({}, before === undefined ? { last: 4 } : { last: 4, before });
      backward.unshift(...positions(page));
      if (!page.pageInfo.hasPreviousPage) break;
      before = page.pageInfo.startCursor!;
    }
    const firstPage = await store.read({}, { first: 5 });
    const middle = await store.read({}, { first: 5, after: firstPage.pageInfo.endCursor! });
    const lastPage = await store.read({}, { last: 5 });
    const filters = {
      stream: positions(await store.read({ stream: 'cart-1' }, { first: 100 })),
      category: positions(await store.read({ category: 'order' }, { first: 100 })),
      oneType: positions(await store.read({ types: ['Paid'] }, { first: 100 })),
      twoTypes: positions(await store.read({ types: ['Paid', 'Removed'] }, { first: 100 })),
      twoTypesPaged: positions(await store.read({ types: ['Paid', 'Removed'] }, { first: 5, after: firstPage.pageInfo.endCursor! })),
      twoTypesBackward: positions(await store.read({ types: ['Paid', 'Removed'] }, { last: 3 })),
      routingKey: positions(await store.read({ routingKey: 'eu' }, { first: 100 })),
      categoryAndType: positions(await store.read({ category: 'cart', types: ['Added'] }, { first: 100 })),
      categoryTypesRouting: positions(
        await store.read({ category: 'cart', types: ['Added', 'Paid'], routingKey: 'eu' }, { first: 100 }),
      ),
      streamAndType: positions(await store.read({ stream: 'order-0', types: ['Paid'] }, { first: 100 })),
      streamPaged: positions(await store.read({ stream: 'cart-0' }, { first: 2, after: firstPage.pageInfo.endCursor! })),
      nothing: positions(await store.read({ category: 'none' }, { first: 10 })),
    };
    const cursorErrors = {
      garbage: await caught(() => store.read({}, { first: 5, after: 'nonsense!' })),
      both: await caught(() => store.read({}, { first: 5, last: 5 })),
      tooBig: await caught(() => store.read({}, { first: 1_000_000 })),
    };
    const emptyPage = await store.read({ category: 'none' }, { first: 10 });
    await store.close();
    return {
      forward,
      forwardInfo,
      backward,
      firstPageInfo: firstPage.pageInfo.hasNextPage + ',' + firstPage.pageInfo.hasPreviousPage,
      middle: { positions: positions(middle), next: middle.pageInfo.hasNextPage, previous: middle.pageInfo.hasPreviousPage },
      lastPage: { positions: positions(lastPage), next: lastPage.pageInfo.hasNextPage, previous: lastPage.pageInfo.hasPreviousPage },
      filters,
      cursorErrors,
      emptyPageInfo: emptyPage.pageInfo,
      cursorIsOpaque: typeof firstPage.pageInfo.endCursor === 'string' && !/^\d+$/.test(firstPage.pageInfo.endCursor ?? ''),
    };
  },

  async eventsIterator({ open }: ScenarioContext) {
    const store = await open();
    for (let i = 0; i < 23; i++) await store.append(`item-${i % 3}`, [{ type: i % 2 ? 'Odd' : 'Even', data: i }]);
    const collect = async (it: AsyncIterable<{ data: unknown }>) => {
      const out: unknown[] = [];
      for await (const e of it) out.push(e.data);
      return out;
    };
    const result = {
      all: await collect(store.events({}, { batchSize: 5 })),
      odd: await collect(store.events({ types: ['Odd'] }, { batchSize: 4 })),
      fromPosition: await collect(store.events({}, { from: 20 })),
      stream: await collect(store.events({ stream: 'item-1' }, { batchSize: 2 })),
    };
    await store.close();
    return result;
  },

  async groupCommit({ open }: ScenarioContext) {
    const store = await open();
    // The notices count the transactions: how many the 500 appends took.
    let commits = 0;
    const off = store.onCommit((notice) => void (commits += notice.transactions));
    // 500 appends issued without awaiting, each followed by its own read of its stream.
    const appends: Promise<cairn.AppendResult>[] = [];
    const reads: Promise<number>[] = [];
    for (let i = 0; i < 500; i++) {
      const stream = `g-${i % 10}`;
      appends.push(store.append(stream, [{ type: 'N', data: { i } }]));
      reads.push(store.readStream(stream).then((events) => events.length));
    }
    const results = await Promise.all(appends);
    const seen = await Promise.all(reads);
    await new Promise((resolve) => setTimeout(resolve, 50));
    off();
    const log: number[] = [];
    for await (const e of store.events({}, { batchSize: 1000 })) log.push((e.data as { i: number }).i);
    await store.close();
    return {
      positions: results.map((r) => r.position),
      versions: results.map((r) => r.version),
      // The read issued right after append i sees the stream at least at that append's version.
      readsSawTheirAppend: seen.every((n, i) => n >= results[i]!.version),
      log,
      commits,
    };
  },
} satisfies Record<string, (ctx: ScenarioContext) => Promise<unknown>>;

/** A scenario's name. */
export type ScenarioName = keyof typeof scenarios;
