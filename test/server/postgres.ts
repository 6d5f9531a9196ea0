/**
 * A throwaway PostgreSQL cluster for the server tests: initdb into a temp folder, start on
 * 127.0.0.1 with a free port (socket in the same folder), stop and delete it at the end.
 *
 * PostgreSQL refuses to run as root. As root, every server command runs as the unprivileged
 * `postgres` user (created by Debian's package) through runuser, on a folder it owns.
 */
import { execFileSync, spawnSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { chownSync, existsSync, mkdtempSync, readFileSync, readdirSync, rmSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Client } from 'pg';

/** A running cluster. */
export interface PostgresCluster {
  /** A superuser URL of the `postgres` database (user `cairn`, no password). */
  url: string;
  port: number;
  stop(): Promise<void>;
}

const INSTALL = 'apt-get install -y postgresql';

/** Starts a cluster; throws one line naming what is missing when PostgreSQL is not installed. */
export async function startPostgres(settings: { durable?: boolean } = {}): Promise<PostgresCluster> {
  const bin = findBinDir();
  const asUser = runAs();
  const dir = mkdtempSync(join(tmpdir(), 'cairn-pg-'));
  if (asUser !== undefined) chownSync(dir, asUser.uid, asUser.gid);
  const data = join(dir, 'data');
  const run = (tool: string, args: string[]): string => {
    const command = asUser === undefined ? [join(bin, tool), ...args] : ['runuser', '-u', asUser.name, '--', join(bin, tool), ...args];
    const result = spawnSync(command[0]!, command.slice(1), { encoding: 'utf8', timeout: 60_000, cwd: dir });
    if (result.status !== 0) {
      throw new Error(`${tool} failed (${result.status ?? result.signal}): ${result.stderr || result.stdout}`);
    }
    return result.stdout;
  };
  try {
    run('initdb', ['-D', data, '-A', 'trust', '-U', 'cairn', '-E', 'UTF8', '--locale=C', '--no-sync']);
    let lastError: unknown;
    for (let attempt = 0; attempt < 3; attempt++) {
      const port = await freePort();
      const options = [
        `-p ${port}`,
        `-k ${dir}`,
        '-c listen_addresses=127.0.0.1',
        '-c max_connections=200',
        // A throwaway cluster: durability buys nothing in the tests, and they run faster. The
        // benchmarks measure with PostgreSQL's defaults (fsync on).
        ...(settings.durable === true ? [] : ['-c fsync=off', '-c synchronous_commit=off', '-c full_page_writes=off']),
      ].join(' ');
      try {
        run('pg_ctl', ['-D', data, '-l', join(dir, 'server.log'), '-w', '-t', '60', '-o', options, 'start']);
      } catch (e) {
        lastError = e; // most likely the port was taken in the meantime
        continue;
      }
      return {
        url: `postgres://cairn@127.0.0.1:${port}/postgres`,
        port,
        async stop() {
          try {
            run('pg_ctl', ['-D', data, '-m', 'immediate', '-w', 'stop']);
          } finally {
            rmSync(dir, { recursive: true, force: true });
          }
        },
      };
    }
    const log = existsSync(join(dir, 'server.log')) ? readFileSync(join(dir, 'server.log'), 'utf8') : '';
    throw new Error(`PostgreSQL did not start: ${String(lastError)}\n${log}`);
  } catch (e) {
    rmSync(dir, { recursive: true, force: true });
    throw e;
  }
}

/** `CAIRN_PG_BIN`, then `pg_config --bindir`, then the newest `/usr/lib/postgresql/<n>/bin`. */
export function findBinDir(): string {
  const has = (dir: string): string | undefined =>
    ['initdb', 'pg_ctl'].find((tool) => !existsSync(join(dir, tool)));
  const fromEnv = process.env.CAIRN_PG_BIN;
  if (fromEnv !== undefined && fromEnv !== '') {
    const missing = has(fromEnv);
    if (missing !== undefined) {
      throw new Error(`PostgreSQL: no ${missing} in CAIRN_PG_BIN=${fromEnv}; point CAIRN_PG_BIN at PostgreSQL's bin folder or run ${INSTALL}`);
    }
    return fromEnv;
  }
  const candidates: string[] = [];
  try {
    candidates.push(execFileSync('pg_config', ['--bindir'], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'ignore'] }).trim());
  } catch {
    // no pg_config on the PATH
  }
  const root = '/usr/lib/postgresql';
  if (existsSync(root)) {
    const versions = readdirSync(root).filter((d) => /^\d+$/.test(d)).sort((a, b) => Number(b) - Number(a));
    candidates.push(...versions.map((v) => join(root, v, 'bin')));
  }
  const found = candidates.find((dir) => dir !== '' && has(dir) === undefined);
  if (found === undefined) {
    throw new Error(
      `PostgreSQL not found: no initdb (set CAIRN_PG_BIN, put pg_config on the PATH, or install /usr/lib/postgresql/*/bin with: ${INSTALL})`,
    );
  }
  return found;
}

/** The user to run PostgreSQL as: none when we are not root, else `postgres`. */
function runAs(): { name: string; uid: number; gid: number } | undefined {
  if (process.getuid?.() !== 0) return undefined;
  const name = 'postgres';
  try {
    const uid = Number(execFileSync('id', ['-u', name], { encoding: 'utf8' }).trim());
    const gid = Number(execFileSync('id', ['-g', name], { encoding: 'utf8' }).trim());
    return { name, uid, gid };
  } catch {
    throw new Error(
      `PostgreSQL refuses to run as root and there is no unprivileged "${name}" user to run it as (${INSTALL} creates one)`,
    );
  }
}

function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const address = server.address();
      const port = typeof address === 'object' && address !== null ? address.port : 0;
      server.close(() => resolve(port));
    });
  });
}

/** Creates a fresh database named `<prefix>_<random>` in the cluster at `admin`; returns its URL. */
export async function createDatabaseIn(admin: string, prefix = 'cairn'): Promise<string> {
  const name = `${prefix}_${randomBytes(6).toString('hex')}`;
  const client = new Client({ connectionString: admin });
  await client.connect();
  try {
    await client.query(`CREATE DATABASE ${name}`);
  } finally {
    await client.end();
  }
  const url = new URL(admin);
  url.pathname = `/${name}`;
  return url.href;
}
