/**
 * The set-up of `npm run demo:sync` (`demo-sync.mjs` runs it from a shell, the playground's
 * sync spec from a test): a sync server on its embedded database (PGlite, no PostgreSQL
 * needed) and the playground's dev server, both on 127.0.0.1, and the URLs of two devices.
 * Each device is the playground on a store of its own (`playground-a`, `playground-b`: two
 * databases, two sync clients) that syncs to the server, so two windows of one browser play
 * two devices.
 *
 * The server lets everyone in, as tenant `demo`: it listens on the loopback address only.
 */
import { fileURLToPath } from 'node:url';
import { createServer, type ViteDevServer } from 'vite';
import { createSyncServer, type SyncServer, type SyncServerLog } from '../server/index.ts';

/** Options of `startDemoSync`. */
export interface DemoSyncOptions {
  /** The playground's port (default 5173; 0 picks a free one; a taken one, the next free). */
  port?: number;
  /** The sync server's port (default 8787; 0 picks a free one). */
  serverPort?: number;
  /** The folder of the server's embedded database (default `.cairn-server/demo`). */
  dataDir?: string;
  /** Where the server reports warnings and failures (default: console). */
  log?: SyncServerLog;
}

/** A device of the demo: a name and the playground URL that opens it. */
export interface DemoDevice {
  name: string;
  url: string;
}

/** The running demo. */
export interface DemoSync {
  serverUrl: string;
  /** The playground without sync, as `npm run demo` serves it. */
  playgroundUrl: string;
  devices: DemoDevice[];
  close(): Promise<void>;
}

/** The devices the demo prints, by the id they go by in the playground's URL. */
export const DEMO_DEVICES = ['a', 'b'] as const;

/** Starts the sync server and the playground; `close()` stops both. */
export async function startDemoSync(options: DemoSyncOptions = {}): Promise<DemoSync> {
  const server: SyncServer = await createSyncServer({
    dataDir: options.dataDir ?? '.cairn-server/demo',
    authorize: async () => ({ tenant: 'demo' }),
    ...(options.log === undefined ? {} : { log: options.log }),
  });
  let vite: ViteDevServer | undefined;
  try {
    const { url: serverUrl } = await server.listen({ host: '127.0.0.1', port: options.serverPort ?? 8787 });
    vite = await createServer({
      configFile: fileURLToPath(new URL('../vite.config.ts', import.meta.url)),
      server: { host: '127.0.0.1', port: options.port ?? 5173, strictPort: false },
      logLevel: 'warn',
    });
    await vite.listen();
    const playgroundUrl = vite.resolvedUrls!.local[0]!;
    const running = vite;
    return {
      serverUrl,
      playgroundUrl,
      devices: DEMO_DEVICES.map((id) => ({ name: `device ${id.toUpperCase()}`, url: deviceUrl(playgroundUrl, serverUrl, id) })),
      async close() {
        await running.close();
        await server.close();
      },
    };
  } catch (e) {
    await vite?.close().catch(() => {});
    await server.close().catch(() => {});
    throw e;
  }
}

/** The playground URL of device `id`, syncing to `serverUrl` (what `demo/sync-config.ts` reads). */
export function deviceUrl(playgroundUrl: string, serverUrl: string, id: string): string {
  const url = new URL(playgroundUrl);
  url.searchParams.set('sync', serverUrl);
  url.searchParams.set('device', id);
  return url.href;
}
