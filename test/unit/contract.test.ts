import { describe } from 'vitest';
import { openStore } from '../../src/client/index.ts';
import { defineContract } from '../contract/contract.ts';
import { scenarios } from '../contract/scenarios.ts';

let n = 0;
describe('contract: in-process (Node, sqlite-wasm in memory)', () => {
  defineContract(
    (name) => scenarios[name]({ open: (options) => openStore({ name: `node-${n++}`, ...options }) }) as never,
    { storage: 'memory' },
  );
});
