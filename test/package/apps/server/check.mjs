// Node, as a user would run sync: the cairndb-server command from the package's bin on its
// embedded database, two in-memory stores that sync through it, and `cairndb/server`
// mounted in the user's own Node server.
import { spawn } from 'node:child_process';
import { createServer } from 'node:http';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { openStore } from 'cairndb';
import { createSyncServer } from 'cairndb/server';

const dir = mkdtempSync(join(tmpdir(), 'cairn-server-app-'));
const TOKEN = 'app-token';

/** Starts the package's `cairndb-server` bin (as an npm script would) and resolves with its URL once it says it listens. */
function startCommand() {
  const bin = fileURLToPath(new URL('../node_modules/.bin/cairndb-server', import.meta.url));
  const child = spawn(bin, ['--port', '0', '--data-dir', join(dir, 'cli'), '--token', TOKEN], {
    stdio: ['ignore', 'pipe', 'inherit'],
  });
  return new Promise((resolve, reject) => {
    let out = '';
    child.stdout.on('data', (chunk) => {
      out += chunk;
      const match = /listening on (http:\/\/\S+)/.exec(out);
      if (match) resolve({ child, url: match[1] });
    });
    child.on('exit', (code) => reject(new Error(`cairndb-server exited with ${code}: ${out}`)));
  });
}

/** Two devices append offline, sync through `url`, and must end with the same log. */
async function converge(url, label) {
  const open = (name) => openStore({ name, sync: { url, token: () => TOKEN, live: false } });
  const a = await open(`${label}-a`);
  const b = await open(`${label}-b`);
  await a.append('cart-1', [{ type: 'ItemAdded', data: { sku: 'A' } }]);
  await b.append('cart-2', [{ type: 'ItemAdded', data: { sku: 'B' } }]);
  await a.sync.now();
  await b.sync.now();
  await a.sync.now();
  const log = async (store) =>
    [...(await store.readStream('cart-1')), ...(await store.readStream('cart-2'))].map((e) => `${e.stream}@${e.version}:${e.data.sku}:${e.serverPosition !== null}`);
  const logs = [await log(a), await log(b)];
  console.log(`${label}: ${JSON.stringify(logs[0])} ${JSON.stringify(logs[1])} ${a.sync.status.state}/${a.sync.status.pending}`);
  await a.close();
  await b.close();
}

const cli = await startCommand();
try {
  const health = await fetch(`${cli.url}/v1/health`);
  console.log(`health: ${health.status}`);
  const refused = await fetch(`${cli.url}/v1/pull`, { method: 'POST', headers: { authorization: 'Bearer wrong', 'content-type': 'application/json' }, body: '{}' });
  console.log(`wrong token: ${refused.status}`);
  await converge(cli.url, 'command');
} finally {
  cli.child.kill('SIGTERM');
  await new Promise((resolve) => cli.child.once('exit', resolve));
}

// Mounted in the app's own server, on another embedded database.
const sync = await createSyncServer({ dataDir: join(dir, 'mounted'), authorize: async (r) => (r.token === TOKEN ? { tenant: 'shop' } : null) });
const own = createServer((req, res) => {
  if (req.url?.startsWith('/sync/')) {
    req.url = req.url.slice('/sync'.length);
    void sync.handle(req, res);
  } else {
    res.writeHead(404).end();
  }
});
await new Promise((resolve) => own.listen(0, '127.0.0.1', resolve));
try {
  await converge(`http://127.0.0.1:${own.address().port}/sync`, 'mounted');
} finally {
  await new Promise((resolve) => own.close(resolve));
  await sync.close();
  rmSync(dir, { recursive: true, force: true });
}
