/**
 * The `cairndb-server` command as a real process: killed with SIGKILL while a large push is
 * in flight (its events inserted, its transaction not yet committed), restarted, and the
 * push retried: every event stored exactly once. Also: the shared token, and a clean stop
 * on SIGTERM.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it, onTestFinished } from 'vitest';
import { openStore } from '../../src/client/index.ts';
import { api, append, connect, countEvents, createDatabase, ev, newClient, pushOf, until } from './helpers.ts';

const root = fileURLToPath(new URL('../../', import.meta.url));
const children = new Set<ChildProcess>();

/** Runs bin/cairndb-server from the sources; resolves once it prints its URL. */
async function startCli(args: string[]): Promise<{ child: ChildProcess; url: string; output: () => string }> {
  const child = spawn(process.execPath, ['--import', './test/server/ts-register.mjs', 'bin/cairndb-server', '--port', '0', ...args], {
    cwd: root,
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  children.add(child);
  child.once('exit', () => children.delete(child));
  let text = '';
  child.stdout!.on('data', (d: Buffer) => (text += d.toString()));
  child.stderr!.on('data', (d: Buffer) => (text += d.toString()));
  await until(() => /listening on (http:\/\/\S+)/.test(text) || child.exitCode !== null, 30_000, 'the server to start');
  const match = /listening on (http:\/\/\S+)/.exec(text);
  if (match === null) throw new Error(`the server did not start: ${text}`);
  return { child, url: match[1]!, output: () => text };
}

function exited(child: ChildProcess): Promise<{ code: number | null; signal: NodeJS.Signals | null }> {
  if (child.exitCode !== null || child.signalCode !== null) return Promise.resolve({ code: child.exitCode, signal: child.signalCode });
  return new Promise((resolve) => child.once('exit', (code, signal) => resolve({ code, signal })));
}

let db: string;
beforeAll(async () => {
  db = await createDatabase();
});
afterAll(() => {
  for (const child of children) child.kill('SIGKILL'); // only the ones this file started
});

describe('cairndb-server', () => {
  it('killed mid-push, restarted, and retried: every event stored exactly once', async () => {
    const first = await startCli(['--database', db]);
    const client = api(first.url);
    await client.push(pushOf(newClient(), [append('crash-1', [ev()])])); // crash-1 now has a row in cairn_streams

    // Hold crash-1's stream row: the push below inserts all its events, then waits to update
    // that row, inside its open transaction. That is where the process is killed.
    const holder = await connect(db);
    onTestFinished(() => holder.end().catch(() => {}));
    await holder.query('BEGIN');
    await holder.query("SELECT 1 FROM cairn_streams WHERE tenant = 'default' AND stream = 'crash-1' FOR UPDATE");

    const big = 'x'.repeat(400);
    const push = pushOf(
      newClient(),
      [append('crash-big', Array.from({ length: 5_000 }, (_, i) => ev('Big', { i, big })), 'no_stream')],
      [append('crash-1', [ev('Last')], 1), append('crash-2', [ev()])],
    );
    const inFlight = client.push(push).then(
      () => 'answered',
      () => 'failed',
    );
    const probe = await connect(db);
    onTestFinished(() => probe.end().catch(() => {}));
    await until(
      async () =>
        (
          await probe.query(
            "SELECT 1 FROM pg_stat_activity WHERE datname = current_database() AND wait_event_type = 'Lock' AND query LIKE '%INSERT INTO cairn_streams%'",
          )
        ).rows.length === 1,
      20_000,
      'the push to wait inside its transaction',
    );
    first.child.kill('SIGKILL');
    expect((await exited(first.child)).signal).toBe('SIGKILL');
    expect(await inFlight).toBe('failed'); // the device never got an answer

    // Let the orphaned transaction go on: it finds its client gone and rolls back.
    await holder.query('ROLLBACK');
    await until(
      async () =>
        (await probe.query("SELECT 1 FROM pg_stat_activity WHERE datname = current_database() AND query LIKE '%cairn_streams%' AND pid <> pg_backend_pid()")).rows
          .length === 0,
      20_000,
      'the killed server’s transaction to end',
    );
    expect(await countEvents(db)).toBe(1);

    // Restart, with a token this time, and retry the same push (as the device will).
    const second = await startCli(['--database', db, '--token', 's3cret']);
    const again = api(second.url);
    const refused = await again.fail('/v1/push', {
      method: 'POST',
      body: JSON.stringify(push),
      headers: { 'content-type': 'application/json' },
    });
    expect(refused.status).toBe(401);
    const retried = await again.push(push, 's3cret');
    expect(retried.results.map((r) => r.status)).toEqual(['ok', 'ok']);
    expect(await again.push(push, 's3cret')).toEqual(retried); // and once more: answered from the store
    expect(await countEvents(db)).toBe(1 + 5_002);
    const c = await connect(db);
    onTestFinished(() => c.end());
    const { rows } = await c.query<{ ids: string; n: string }>('SELECT count(DISTINCT id) AS ids, count(*) AS n FROM cairn_events');
    expect(rows[0]).toEqual({ ids: '5003', n: '5003' });
    const { events } = await again.pullAll({ filter: { streams: ['crash-1'] } }, 's3cret');
    expect(events.map((e) => [e.version, e.type])).toEqual([
      [1, 'Added'],
      [2, 'Last'],
    ]);

    // SIGTERM: a clean stop, exit code 0.
    second.child.kill('SIGTERM');
    expect(await exited(second.child)).toEqual({ code: 0, signal: null });
    expect(second.output()).toMatch(/SIGTERM, stopping\ncairndb-server: stopped\n/);
  });

  it('a device whose push the server died in pushes again after the restart: nothing lost, nothing twice', async () => {
    const deviceDb = await createDatabase();
    const first = await startCli(['--database', deviceDb, '--token', 'dev']);
    const port = new URL(first.url).port;
    const device = await openStore({ name: `device-${Date.now()}`, sync: { url: first.url, token: () => 'dev', live: false, interval: 3_600_000 } });
    onTestFinished(() => device.close());
    await device.append('dev-1', [{ type: 'First' }]);
    await device.sync.now();

    // The device's next push inserts its events, then waits on dev-1's stream row, inside
    // its transaction: there the server is killed.
    const holder = await connect(deviceDb);
    onTestFinished(() => holder.end().catch(() => {}));
    await holder.query('BEGIN');
    await holder.query("SELECT 1 FROM cairn_streams WHERE tenant = 'default' AND stream = 'dev-1' FOR UPDATE");
    for (let i = 0; i < 20; i++) await device.append('dev-big', Array.from({ length: 100 }, (_, k) => ({ type: 'Big', data: { i, k } })));
    await device.append('dev-1', [{ type: 'Second' }], { expectedVersion: 1 });
    const pushing = device.sync.now().then(
      () => 'answered',
      (e: { code?: string }) => e.code,
    );
    const probe = await connect(deviceDb);
    onTestFinished(() => probe.end().catch(() => {}));
    await until(
      async () =>
        (await probe.query("SELECT 1 FROM pg_stat_activity WHERE datname = current_database() AND wait_event_type = 'Lock'")).rows.length === 1,
      20_000,
      'the push to wait inside its transaction',
    );
    first.child.kill('SIGKILL');
    await exited(first.child);
    expect(await pushing).toBe('SYNC_UNAVAILABLE');
    await holder.query('ROLLBACK');
    expect(device.sync.status.pending).toBe(21);

    // Back on the same address: the device pushes again, and the server stores each event once.
    const second = await startCli(['--database', deviceDb, '--token', 'dev', '--port', port]);
    onTestFinished(() => void second.child.kill('SIGKILL'));
    await device.sync.now();
    expect(device.sync.status).toMatchObject({ state: 'idle', pending: 0 });
    const c = await connect(deviceDb);
    onTestFinished(() => c.end());
    const { rows } = await c.query<{ stream: string; n: string; ids: string }>(
      'SELECT stream, count(*) AS n, count(DISTINCT id) AS ids FROM cairn_events GROUP BY stream ORDER BY stream',
    );
    expect(rows).toEqual([
      { stream: 'dev-1', n: '2', ids: '2' },
      { stream: 'dev-big', n: '2000', ids: '2000' },
    ]);
    expect((await device.readStream('dev-1')).map((e) => [e.version, e.type, e.serverPosition !== null])).toEqual([
      [1, 'First', true],
      [2, 'Second', true],
    ]);
  });

  it('prints usage for --help and refuses unknown options', async () => {
    const help = spawn(process.execPath, ['--import', './test/server/ts-register.mjs', 'bin/cairndb-server', '--help'], { cwd: root });
    let out = '';
    help.stdout.on('data', (d: Buffer) => (out += d.toString()));
    expect((await exited(help)).code).toBe(0);
    expect(out).toMatch(/^Usage: cairndb-server/);
    const bad = spawn(process.execPath, ['--import', './test/server/ts-register.mjs', 'bin/cairndb-server', '--prot', '1'], { cwd: root });
    let err = '';
    bad.stderr.on('data', (d: Buffer) => (err += d.toString()));
    expect((await exited(bad)).code).toBe(2);
    expect(err).toMatch(/Unknown option '--prot'/);
  });
});
