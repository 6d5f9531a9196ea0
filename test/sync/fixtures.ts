/**
 * Fixtures of the sync specs, on top of `test/fixtures.ts`:
 * - `sync` (worker-scoped): a throwaway PostgreSQL cluster (`test/server/postgres.ts`) and a
 *   real Cairn sync server on it, mounted with `server.handle` in a Node HTTP server of the
 *   spec's own on 127.0.0.1, so that a spec can hold the answers to pushes (a reply lost
 *   after the server stored the push) and read what the server holds;
 * - `harnessUrl` (worker-scoped): the sync harness page (`test/sync/app/`), built once and
 *   served (`support/serve-app.ts`) from another port of 127.0.0.1 than the server's: another origin, so every call
 *   of the device is a CORS request (with a preflight, for the bearer token);
 * - `launchDevice()`: a device, the system Chromium on a profile folder of its own, closed
 *   and removed at the end of the test;
 * - `openDevice(page, store)`: the harness on `page`, with `store` open and syncing.
 *
 * Each test syncs as a tenant of its own (its token), so tests never see each other's events.
 */
import { randomBytes } from 'node:crypto';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { fileURLToPath } from 'node:url';
import type { BrowserContext, Page } from '@playwright/test';
import { createSyncServer, type SyncServer } from '../../server/index.ts';
import type { SyncServerLog } from '../../server/log.ts';
import { parsePullResponse, SYNC_PATHS, type ServerEvent } from '../../src/sync/protocol.ts';
import { expect, launchPersistent, makeProfile, removeProfile, test as base } from '../fixtures.ts';
import { createDatabaseIn, startPostgres } from '../server/postgres.ts';
import { serveApp } from '../support/serve-app.ts';

/** Push answers held back by `holdPushReplies`. */
export interface PushHold {
  /** Resolves when the server has stored a push whose answer is being held. */
  stored: Promise<void>;
  /** Lets the held answers (and later ones) go. */
  release(): void;
}

/** The sync server of the run, as the specs use it. */
export interface SyncSetup {
  /** The server's URL (another origin than the harness's). */
  url: string;
  /** A token of a tenant of its own. */
  newToken(): string;
  /** Every event the server holds for `token`'s tenant, in server order. */
  events(token: string): Promise<ServerEvent[]>;
  /** How many pushes have been answered (or held) so far, of every tenant. */
  pushes(): number;
  /** Holds the answers to pushes (after the server stored them) until `release()`. */
  holdPushReplies(): PushHold;
  /** What the server logged: warnings and failures. */
  log: string[];
}

interface WorkerFixtures {
  sync: SyncSetup;
  harnessUrl: string;
}

interface TestFixtures {
  launchDevice: () => Promise<BrowserContext>;
}

/** Goes to the harness on `page` and opens `store` there, syncing with `token`; returns what `open` said. */
export async function openDevice(page: Page, harnessUrl: string, sync: SyncSetup, store: string, token: string, interval?: number) {
  page.on('pageerror', (e) => console.error('[page error]', e.message));
  if (!page.url().startsWith(harnessUrl)) await page.goto(harnessUrl);
  await page.waitForFunction(() => document.title === 'ready');
  return page.evaluate(([n, u, t, i]) => window.syncTest.open(n!, u!, t!, i === '' ? {} : { interval: Number(i) }), [
    store,
    sync.url,
    token,
    interval === undefined ? '' : String(interval),
  ]);
}

/** The test function with the sync fixtures. */
export const test = base.extend<TestFixtures, WorkerFixtures>({
  sync: [
    async ({}, use) => {
      const cluster = await startPostgres();
      let server: SyncServer | undefined;
      let http: Server | undefined;
      const held: (() => void)[] = [];
      try {
        const database = await createDatabaseIn(cluster.url, 'cairn_e2e');
        const log: string[] = [];
        const memoryLog: SyncServerLog = {
          info: () => {},
          warn: (m) => void log.push(`warn: ${m}`),
          error: (m, e) => void log.push(`error: ${m} ${String(e)}`),
        };
        const tokens = new Set<string>();
        server = await createSyncServer({
          database,
          log: memoryLog,
          // One tenant per token the spec made; anything else is refused.
          authorize: async ({ token }) => (typeof token === 'string' && tokens.has(token) ? { tenant: token } : null),
        });
        let pushes = 0;
        let hold: { stored: () => void; released: Promise<void> } | undefined;
        const handle = server.handle;
        http = createServer((req: IncomingMessage, res: ServerResponse) => {
          if (req.method === 'POST' && req.url === SYNC_PATHS.push) {
            pushes++;
            const h = hold;
            if (h !== undefined) {
              // The server writes its answer only once the push is stored: hold it there.
              const end = res.end.bind(res) as (...args: unknown[]) => ServerResponse;
              res.end = ((...args: unknown[]) => {
                h.stored();
                void h.released.then(() => end(...args));
                return res;
              }) as ServerResponse['end'];
            }
          }
          handle(req, res);
        });
        await new Promise<void>((ok) => http!.listen(0, '127.0.0.1', ok));
        const url = `http://127.0.0.1:${(http.address() as AddressInfo).port}`;
        await use({
          url,
          log,
          newToken: () => {
            const token = `tenant-${randomBytes(6).toString('hex')}`;
            tokens.add(token);
            return token;
          },
          events: (token) => pullAll(url, token),
          pushes: () => pushes,
          holdPushReplies() {
            let stored!: () => void;
            let release!: () => void;
            const storedP = new Promise<void>((ok) => (stored = ok));
            const released = new Promise<void>((ok) => (release = ok));
            held.push(release);
            hold = { stored, released };
            return {
              stored: storedP,
              release: () => {
                hold = undefined;
                release();
              },
            };
          },
        });
      } finally {
        for (const release of held) release();
        http?.closeAllConnections();
        await new Promise<void>((ok) => (http === undefined ? ok() : http.close(() => ok())));
        await server?.close();
        await cluster.stop();
      }
    },
    { scope: 'worker', timeout: 120_000 },
  ],
  harnessUrl: [
    async ({}, use) => serveApp(fileURLToPath(new URL('./app/vite.config.ts', import.meta.url)), use),
    { scope: 'worker', timeout: 120_000 },
  ],
  launchDevice: async ({}, use) => {
    const launched: { context: BrowserContext; profile: string }[] = [];
    await use(async () => {
      const profile = makeProfile('cairn-sync-');
      const context = await launchPersistent(profile);
      launched.push({ context, profile });
      return context;
    });
    for (const { context, profile } of launched) {
      await context.close().catch(() => {});
      removeProfile(profile);
    }
  },
});

/** Every event of `token`'s tenant, pulled from the start as a device would (validated). */
async function pullAll(base: string, token: string): Promise<ServerEvent[]> {
  const events: ServerEvent[] = [];
  let cursor: string | null = null;
  for (;;) {
    const res = await fetch(base + SYNC_PATHS.pull, {
      method: 'POST',
      headers: { 'content-type': 'application/json', authorization: `Bearer ${token}` },
      body: JSON.stringify({ cursor, limit: 5000 }),
    });
    expect(res.status, 'the server refused a pull').toBe(200);
    const page = parsePullResponse(await res.json());
    events.push(...page.events);
    cursor = page.cursor;
    if (!page.more) return events;
  }
}

export { expect } from '../fixtures.ts';
