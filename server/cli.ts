/**
 * The `cairndb-server` command:
 *   cairndb-server [--port 8787] [--host 127.0.0.1] [--database postgres://…] [--data-dir DIR] [--token SECRET]
 * Prints the URL it listens on, and stops cleanly on SIGINT or SIGTERM.
 */
import { parseArgs } from 'node:util';
import { sharedToken } from './auth.ts';
import { createSyncServer, type SyncServer } from './create-sync-server.ts';

const USAGE = `Usage: cairndb-server [options]

  --port <n>          port to listen on (default 8787; 0 picks a free one)
  --host <address>    address to bind (default 127.0.0.1; 0.0.0.0 for every interface)
  --database <url>    PostgreSQL, as postgres://user:password@host:port/db (or env CAIRN_DATABASE_URL).
                      Without it: an embedded PGlite database in --data-dir, for trying it out.
  --data-dir <dir>    folder of the embedded database (default ./.cairn-server)
  --token <secret>    one shared bearer token for every client, tenant "default" (or env CAIRN_TOKEN).
                      Without it the server is open to everyone.
  --help              show this
`;

/** Where the command writes. */
export interface CliOutput {
  out: (line: string) => void;
  err: (line: string) => void;
}

/** Runs the command until it is stopped by a signal; resolves with the exit code. */
export async function runCli(
  argv: readonly string[],
  output: CliOutput = { out: (l) => process.stdout.write(`${l}\n`), err: (l) => process.stderr.write(`${l}\n`) },
): Promise<number> {
  let values;
  try {
    ({ values } = parseArgs({
      args: [...argv],
      strict: true,
      allowPositionals: false,
      options: {
        port: { type: 'string' },
        host: { type: 'string' },
        database: { type: 'string' },
        'data-dir': { type: 'string' },
        token: { type: 'string' },
        help: { type: 'boolean', short: 'h' },
      },
    }));
  } catch (e) {
    output.err(`cairndb-server: ${(e as Error).message}\n\n${USAGE}`);
    return 2;
  }
  if (values.help === true) {
    output.out(USAGE);
    return 0;
  }
  const port = Number(values.port ?? 8787);
  if (!Number.isInteger(port) || port < 0 || port > 65_535) {
    output.err(`cairndb-server: --port must be a port number, got ${values.port}`);
    return 2;
  }
  const database = values.database ?? nonEmpty(process.env.CAIRN_DATABASE_URL);
  const token = values.token ?? nonEmpty(process.env.CAIRN_TOKEN);
  if (token === '') {
    output.err('cairndb-server: --token must not be empty');
    return 2;
  }

  let server;
  let url;
  try {
    server = await createSyncServer({
      ...(database === undefined ? { dataDir: values['data-dir'] ?? '.cairn-server' } : { database }),
      ...(token === undefined ? {} : { authorize: sharedToken(token) }),
    });
    ({ url } = await server.listen({ host: values.host ?? '127.0.0.1', port }));
  } catch (e) {
    await server?.close().catch(() => {});
    output.err(`cairndb-server: cannot start: ${(e as Error).message}`);
    return 1;
  }
  const where = server.storage === 'pglite' ? `embedded PGlite in ${values['data-dir'] ?? '.cairn-server'}` : 'PostgreSQL';
  output.out(`cairndb-server listening on ${url} (${where})`);

  return untilStopped(server, output);
}

/** Serves until SIGINT or SIGTERM, then closes; resolves with the exit code. A second signal exits at once. */
function untilStopped(server: SyncServer, output: CliOutput): Promise<number> {
  return new Promise<number>((resolve) => {
    let stopping = false;
    const stop = (signal: NodeJS.Signals): void => {
      if (stopping) {
        output.err(`cairndb-server: ${signal} again, exiting at once`);
        process.exit(1);
      }
      stopping = true;
      output.out(`cairndb-server: ${signal}, stopping`);
      server.close().then(
        () => {
          process.off('SIGINT', stop);
          process.off('SIGTERM', stop);
          output.out('cairndb-server: stopped');
          resolve(0);
        },
        (e: unknown) => {
          output.err(`cairndb-server: failed to stop cleanly: ${(e as Error).message}`);
          resolve(1);
        },
      );
    };
    process.on('SIGINT', stop);
    process.on('SIGTERM', stop);
  });
}

function nonEmpty(value: string | undefined): string | undefined {
  return value === undefined || value === '' ? undefined : value;
}
