/**
 * The model test on the in-process store (sqlite-wasm in memory): 300 random sequences of
 * grouped appends, appendMany calls, retries, id reuses and reads against the model.
 */
import { expect, it } from 'vitest';
import { openStore } from '../../src/client/index.ts';
import { checkModel } from '../contract/model.ts';
import { runGroups } from '../contract/model-commands.ts';

it('agrees with the model over 300 random sequences of grouped calls', async () => {
  const counts = await checkModel(
    (i) => async (groups) => {
      const store = await openStore({ name: `model-${i}` });
      try {
        return await runGroups(store, groups);
      } finally {
        await store.close();
      }
    },
    300,
  );
  console.log(`[model] ${JSON.stringify(counts)}`);
  expect(counts.sequences).toBe(300);
  expect(counts.refused).toBeGreaterThan(0);
}, 120_000);
