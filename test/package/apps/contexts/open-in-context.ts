// What each context runs: open a store, append one event, read the stream back.
import { isCairnError, openStore, type StorageOption } from 'cairndb';

/** A request from the page to a context. */
export interface ContextRequest {
  name: string;
  storage: StorageOption;
}

/** What the context reports back. */
export type ContextReply = { storage: string; role: string; events: number } | { error: string; message: string };

export async function openInContext({ name, storage }: ContextRequest): Promise<ContextReply> {
  try {
    const store = await openStore({ name, storage });
    await store.append('ping-1', [{ type: 'Pinged' }]);
    const events = await store.readStream('ping-1');
    const reply = { storage: store.storage, role: store.role, events: events.length };
    await store.close();
    return reply;
  } catch (e) {
    return { error: isCairnError(e) ? e.code : 'NOT_A_CAIRN_ERROR', message: String(e) };
  }
}
