// Node, as a user's ESM script: the README's quick start (in memory), then the core engine.
import { openMemoryEngine } from 'cairndb/core';

await import('./quickstart.js');

const engine = await openMemoryEngine();
const result = await engine.append({
  stream: 'job-1',
  events: [{ id: '01JCA8RN000000000000000001', type: 'Ran', data: '{"ok":true}', metadata: null, schemaVersion: 1 }],
  expectedVersion: 'no_stream',
  routingKey: null,
});
const head = await engine.head();
await engine.close();
console.log(`core: ${JSON.stringify({ version: result.version, position: result.position, head })}`);
