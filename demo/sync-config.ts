/**
 * Which store the playground opens, and whether it syncs: `npm run demo` opens `playground`,
 * on this device only; a URL with `?sync=<server URL>&device=<id>` (what `npm run demo:sync`
 * prints) opens `playground-<id>`, a device of its own that syncs to that server.
 */

/** What the playground opens. */
export interface PlaygroundStore {
  name: string;
  /** The device's id, when it syncs. */
  device?: string;
  /** The sync server's URL, when it syncs. */
  syncUrl?: string;
}

/** Reads the playground's store from its URL's query; a malformed one is an error shown on the page. */
export function playgroundStore(search: string): PlaygroundStore {
  const params = new URLSearchParams(search);
  const syncUrl = params.get('sync');
  if (syncUrl === null) return { name: 'playground' };
  const device = params.get('device') ?? 'a';
  if (!/^[a-z0-9-]{1,32}$/.test(device)) throw new Error(`?device= takes up to 32 of a-z, 0-9 and -, not ${JSON.stringify(device)}`);
  if (!/^https?:\/\//.test(syncUrl)) throw new Error(`?sync= takes the sync server's http(s) URL, not ${JSON.stringify(syncUrl)}`);
  return { name: `playground-${device}`, device, syncUrl };
}
