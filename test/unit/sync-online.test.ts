// @vitest-environment happy-dom
/**
 * The page passes its `online` event to the sync runner (`store.sync`): Chromium fires it on
 * the page only, not in the worker the runner runs in, so without this a device back online
 * waited for its backoff. Checked on the page's side of the boundary, with a backend that
 * records what it is asked.
 */
import { describe, expect, it } from 'vitest';
import type { Backend } from '../../src/client/ports.ts';
import { StoreSync } from '../../src/client/sync-handle.ts';
import { SYNC_DISABLED, type SyncStatus } from '../../src/protocol/api.ts';

const SYNCING: SyncStatus = { state: 'offline', pending: 2, serverPosition: null, lastSyncedAt: null };

function handle(initial: SyncStatus) {
  const asked: string[] = [];
  const backend = {
    syncNow: async () => {
      asked.push('syncNow');
    },
    syncToken: async () => {},
    conflicts: async () => [],
  } as unknown as Backend;
  const stop = new AbortController();
  const none = () => () => {};
  const sync = new StoreSync(
    { backend, onStatus: none, onConflicts: none, onTokenNeeded: none, redecide: async () => undefined, lockName: 'test', signal: stop.signal },
    initial,
  );
  return { sync, asked, stop };
}

describe('store.sync and the page going online', () => {
  it('asks the runner to sync when the page comes back online, until the store closes', () => {
    const { asked, stop } = handle(SYNCING);
    window.dispatchEvent(new Event('online'));
    expect(asked).toEqual(['syncNow']);
    window.dispatchEvent(new Event('offline'));
    expect(asked).toEqual(['syncNow']);
    stop.abort();
    window.dispatchEvent(new Event('online'));
    expect(asked).toEqual(['syncNow']);
  });

  it('asks nothing of a store that does not sync', () => {
    const { asked, stop } = handle(SYNC_DISABLED);
    window.dispatchEvent(new Event('online'));
    expect(asked).toEqual([]);
    stop.abort();
  });
});
