/**
 * A test page app (a Vite project such as `test/browser/app/`), built and served from
 * 127.0.0.1 on a free port: the body of the worker-scoped fixtures that hand out its URL.
 */
import { build, preview, type PreviewServer } from 'vite';

/** Builds the app of `configFile`, serves it while `use` runs, then stops the server. */
export async function serveApp(configFile: string, use: (url: string) => Promise<void>): Promise<void> {
  await build({ configFile });
  const server: PreviewServer = await preview({ configFile, preview: { host: '127.0.0.1', port: 0, strictPort: false } });
  try {
    const address = server.httpServer.address();
    if (address === null || typeof address === 'string') throw new Error(`The server of ${configFile} has no port`);
    await use(`http://127.0.0.1:${address.port}/`);
  } finally {
    await new Promise<void>((resolve) => server.httpServer.close(() => resolve()));
  }
}
