/**
 * The append loop of the crash tests, shared by the harness pages: numbered batches of 5
 * events, alternately one stream's append and an appendMany across two streams (all or
 * nothing), each reported to `ack` once acknowledged. Runs until the page dies.
 */
import type { Store } from '../../src/client/index.ts';

export async function appendLoop(store: Store, ack: (batch: number) => void): Promise<never> {
  for (let batch = 0; ; batch++) {
    const events = Array.from({ length: 5 }, (_, i) => ({ type: 'Crash', data: { batch, i, pad: 'x'.repeat(200) } }));
    if (batch % 2 === 0) {
      await store.append(`crash-${batch % 7}`, events);
    } else {
      await store.appendMany([
        { stream: `crash-${batch % 7}`, events: events.slice(0, 3) },
        { stream: `other-${batch % 3}`, events: events.slice(3) },
      ]);
    }
    ack(batch);
  }
}
