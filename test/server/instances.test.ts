/**
 * Several server instances on one database, as behind a load balancer: they migrate once
 * between them, share one log and one identity (cursors move between them), and a push on
 * one wakes the live devices of the other.
 */
import { afterAll, beforeAll, describe, expect, it, onTestFinished } from 'vitest';
import { createSyncServer } from '../../server/index.ts';
import { append, connect, createDatabase, ev, memoryLog, newClient, openLive, pushOf, startServer, type Running } from './helpers.ts';

let db: string;
let a: Running;
let b: Running;
beforeAll(async () => {
  db = await createDatabase();
  // Both start at once on an empty database: only one may migrate.
  [a, b] = await Promise.all([startServer({ database: db }), startServer({ database: db })]);
});
afterAll(async () => {
  await Promise.all([a?.server.close(), b?.server.close()]);
});

describe('two instances on one database', () => {
  it('migrated once', async () => {
    const c = await connect(db);
    onTestFinished(() => c.end());
    const { rows } = await c.query<{ version: number }>('SELECT version FROM cairn_migrations ORDER BY version');
    expect(rows.map((r) => r.version)).toEqual([1]);
    expect((await c.query('SELECT id FROM cairn_server')).rows).toHaveLength(1);
  });

  it('a push on one is pulled from the other, and a cursor of one works on the other', async () => {
    const r = await a.api.push(pushOf(newClient(), [append('lb-1', [ev(), ev()], 'no_stream')]));
    expect(r.results[0]!.status).toBe('ok');
    const first = await b.api.pull({ cursor: null, limit: 1 });
    expect(first.events.map((e) => [e.stream, e.version])).toEqual([['lb-1', 1]]);
    const second = await a.api.pull({ cursor: first.cursor });
    expect(second.events.map((e) => [e.stream, e.version])).toEqual([['lb-1', 2]]);
    // Versions are decided in the database: the other instance sees the stream at 2.
    const conflict = await b.api.push(pushOf(newClient(), [append('lb-1', [ev()], 'no_stream')]));
    expect(conflict.results[0]).toEqual({ status: 'conflict', stream: 'lb-1', expected: 'no_stream', actual: 2 });
  });

  it('a live device on one is poked by a push on the other', async () => {
    const live = await openLive(b.url);
    onTestFinished(() => live.close());
    await live.next('ready');
    const start = (await b.api.pullAll()).cursor;
    await a.api.push(pushOf(newClient(), [append('lb-2', [ev()])]));
    await live.next('poke');
    expect((await b.api.pullAll({ cursor: start })).events.map((e) => e.stream)).toEqual(['lb-2']);
  });

  it('idempotency holds across instances: a retry sent to the other one is answered from the store', async () => {
    const push = pushOf(newClient(), [append('lb-3', [ev(), ev()], 'no_stream')]);
    const first = await a.api.push(push);
    expect(await b.api.push(push)).toEqual(first);
  });
});

describe('start-up checks', () => {
  it('refuses a database migrated by a newer server', async () => {
    const c = await connect(db);
    onTestFinished(() => c.end());
    await c.query("INSERT INTO cairn_migrations (version, name) VALUES (99, 'from the future')");
    onTestFinished(() => c.query('DELETE FROM cairn_migrations WHERE version = 99').then(() => {}));
    await expect(createSyncServer({ database: db, log: memoryLog() })).rejects.toMatchObject({
      code: 'STORAGE_UNAVAILABLE',
      message: expect.stringMatching(/migrated by a newer cairndb-server \(schema version 99/),
    });
  });

  it('refuses a log whose transaction ids are ahead of the cluster (a dump restored elsewhere)', async () => {
    const restored = await createDatabase();
    const first = await startServer({ database: restored });
    await first.server.close();
    const c = await connect(restored);
    onTestFinished(() => c.end());
    await c.query(`INSERT INTO cairn_events (tenant, tx, id, stream, category, version, type, data, "timestamp", schema_version, client)
      VALUES ('default', '9000000000000'::xid8, '01J00000000000000000000000', 'old-1', 'old', 1, 'T', '{}', 0, 1, 'c')`);
    await expect(createSyncServer({ database: restored, log: memoryLog() })).rejects.toMatchObject({
      code: 'STORAGE_UNAVAILABLE',
      message: expect.stringMatching(/transaction counter is behind/),
    });
  });
});
