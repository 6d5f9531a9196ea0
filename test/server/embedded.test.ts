/**
 * The embedded default (no `database`): PGlite in a data folder. Push, pull and live work;
 * the data survives a restart on the same folder; a second server on the folder is refused;
 * a lock left by a process that died is taken over.
 */
import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { hostname, tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it, onTestFinished } from 'vitest';
import { createSyncServer } from '../../server/index.ts';
import { LOCK_FILE } from '../../server/store/lock-file.ts';
import { append, ev, memoryLog, newClient, openLive, pushOf, startServer } from './helpers.ts';

const dir = mkdtempSync(join(tmpdir(), 'cairn-embedded-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

describe('embedded PGlite', () => {
  it('pushes, pulls and pokes; keeps its data across a restart; refuses a second server on the folder', async () => {
    const first = await startServer({ dataDir: dir });
    let open = true;
    onTestFinished(async () => {
      if (open) await first.server.close();
    });
    expect(first.server.storage).toBe('pglite');
    expect(first.log.lines.some((l) => /open to everyone/.test(l))).toBe(true);

    const live = await openLive(first.url);
    onTestFinished(() => live.close());
    await live.next('ready');
    const push = pushOf(newClient(), [append('emb-1', [ev(), ev()], 'no_stream')], [append('emb-2', [ev()])]);
    const pushed = await first.api.push(push);
    expect(pushed.results.map((r) => r.status)).toEqual(['ok', 'ok']);
    await live.next('poke'); // LISTEN/NOTIFY inside one process
    const conflict = await first.api.push(pushOf(newClient(), [append('emb-1', [ev()], 'no_stream')]));
    expect(conflict.results[0]).toMatchObject({ status: 'conflict', actual: 2 });
    const before = await first.api.pullAll();
    expect(before.events.map((e) => [e.stream, e.version])).toEqual([
      ['emb-1', 1],
      ['emb-1', 2],
      ['emb-2', 1],
    ]);

    // A second server on the same folder, while the first runs: refused, and the first is unharmed.
    await expect(createSyncServer({ dataDir: dir, log: memoryLog() })).rejects.toMatchObject({
      code: 'STORAGE_UNAVAILABLE',
      message: expect.stringMatching(/is in use by another cairndb-server \(process \d+\)/),
    });
    expect((await first.api.pull({ cursor: null })).events).toHaveLength(3);

    live.close();
    await first.server.close();
    open = false;

    // Restart on the same folder: the same events, the same identity (old cursors still work).
    const second = await startServer({ dataDir: dir });
    onTestFinished(() => second.server.close());
    expect((await second.api.pullAll()).events).toEqual(before.events);
    expect((await second.api.pull({ cursor: before.cursor })).events).toEqual([]);
    expect(await second.api.push(push)).toEqual(pushed); // an exact retry, answered from the store
    const next = await second.api.push(pushOf(newClient(), [append('emb-1', [ev()], 2)]));
    expect(next.results[0]).toMatchObject({ status: 'ok', appends: [{ version: 3 }] });
  });

  it('takes over a lock whose process is gone', async () => {
    const stale = mkdtempSync(join(tmpdir(), 'cairn-stale-'));
    onTestFinished(() => rmSync(stale, { recursive: true, force: true }));
    const dead = spawnSync(process.execPath, ['-e', 'process.stdout.write(String(process.pid))'], { encoding: 'utf8' });
    const pid = Number(dead.stdout);
    expect(pid).toBeGreaterThan(0);
    writeFileSync(join(stale, LOCK_FILE), JSON.stringify({ pid, host: hostname(), since: '2020-01-01T00:00:00.000Z' }));
    const s = await startServer({ dataDir: stale });
    onTestFinished(() => s.server.close());
    expect((await s.api.push(pushOf(newClient(), [append('st-1', [ev()])]))).results[0]!.status).toBe('ok');
  });
});
