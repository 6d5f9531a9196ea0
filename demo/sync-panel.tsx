/**
 * Sync, for a playground that syncs (`npm run demo:sync`): where this device's sync stands
 * (`store.sync.status`, live), a button that syncs now, and the conflicts the server's
 * events made of local writes, each with both sides and the two ways to resolve it. Take a
 * device offline (DevTools' network panel), append to a stream the other device also
 * appends to with the same expected version, and bring it back to see one.
 */
import type { Conflict, SyncStatus } from 'cairndb';
import { useStore } from 'cairndb/react';
import { useCallback, useEffect, useState } from 'react';
import { ErrorText } from './errors.tsx';
import type { ShopEvents } from './shop.ts';

/** The sync panel. */
export function SyncPanel({ device }: { device: string }) {
  const store = useStore<ShopEvents>();
  const [status, setStatus] = useState<SyncStatus>(store.sync.status);
  const [conflicts, setConflicts] = useState<Conflict[]>([]);
  const [error, setError] = useState<unknown>();

  const refresh = useCallback(async () => {
    try {
      setConflicts(await store.sync.conflicts());
    } catch (e) {
      setError(e);
    }
  }, [store]);
  useEffect(() => {
    setStatus(store.sync.status);
    return store.sync.onStatus(setStatus);
  }, [store]);
  // Listed again when sync finds some, and each time a sync ends (another tab may have resolved some).
  useEffect(() => store.sync.onConflict(() => void refresh()), [store, refresh]);
  useEffect(() => {
    if (status.state === 'idle') void refresh();
  }, [status.state, status.lastSyncedAt, refresh]);

  const act = (work: () => Promise<unknown>) => async () => {
    setError(undefined);
    try {
      await work();
    } catch (e) {
      setError(e);
    }
    await refresh();
  };

  return (
    <section className="panel" id="sync" data-testid="sync-panel">
      <h2>Sync: device {device.toUpperCase()}</h2>
      <p>
        <span className={`badge sync-${status.state}`} data-testid="sync-state" data-sync-state={status.state}>
          {status.state}
        </span>{' '}
        <span data-testid="sync-pending" data-pending={status.pending}>
          {status.pending === 0 ? 'nothing pending' : `${status.pending} pending`}
        </span>
        {', '}
        server position <b data-testid="sync-server-position">{status.serverPosition ?? '–'}</b>
        {status.lastSyncedAt === null ? '' : `, last synced ${new Date(status.lastSyncedAt).toLocaleTimeString()}`}
      </p>
      {status.error === undefined ? null : (
        <output className="error" data-testid="sync-error">
          {status.error.code}: {status.error.message}
        </output>
      )}
      <div className="row">
        <button type="button" data-action="sync-now" onClick={() => void act(() => store.sync.now())()}>
          Sync now
        </button>
      </div>
      <ErrorText error={error} />
      <h3>Conflicts</h3>
      {conflicts.length === 0 ? (
        <p className="muted" data-testid="no-conflicts">
          None. A write offline to a stream another device moved on (with an exact expected version) shows here.
        </p>
      ) : (
        <ul className="conflicts" data-testid="conflicts">
          {conflicts.map((c) => (
            <li key={c.id} data-testid="conflict" data-stream={c.stream}>
              <b>{c.stream}</b>: this device expected version {String(c.expectedVersion)} and wrote{' '}
              {c.events.map((e) => e.type).join(', ')}; the server is at version {c.serverVersion} with{' '}
              {c.serverEvents.map((e) => e.type).join(', ') || 'nothing new'}.{' '}
              <button type="button" data-action="rebase" onClick={() => void act(() => store.sync.resolve(c.id, 'rebase'))()}>
                Rebase
              </button>{' '}
              <button type="button" data-action="discard" onClick={() => void act(() => store.sync.resolve(c.id, 'discard'))()}>
                Discard
              </button>
            </li>
          ))}
        </ul>
      )}
    </section>
  );
}
