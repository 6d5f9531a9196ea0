// `npm run demo:sync [-- --open]`: the sync server (embedded database) and the playground on
// 127.0.0.1, and two devices syncing through it (see demo-sync.ts). Prints their URLs; with
// --open, also opens each in the system's browser. Ctrl-C stops both servers.
import { spawn } from 'node:child_process';
import { register } from 'node:module';

register('./ts-hooks.mjs', import.meta.url);
const { startDemoSync } = await import('./demo-sync.ts');

// CAIRN_DEMO_PORT, CAIRN_SYNC_PORT: other ports (0: any free one); CAIRN_DEMO_DATA: another database folder.
const port = process.env.CAIRN_DEMO_PORT === undefined ? undefined : Number(process.env.CAIRN_DEMO_PORT);
const serverPort = process.env.CAIRN_SYNC_PORT === undefined ? undefined : Number(process.env.CAIRN_SYNC_PORT);
const dataDir = process.env.CAIRN_DEMO_DATA || '.cairn-server/demo';
let demo;
try {
  demo = await startDemoSync({ dataDir, ...(port === undefined ? {} : { port }), ...(serverPort === undefined ? {} : { serverPort }) });
} catch (e) {
  process.stderr.write(`demo:sync: cannot start: ${e instanceof Error ? e.message : String(e)}\n`);
  process.exit(1);
}

process.stdout.write(`\nCairn sync server: ${demo.serverUrl} (embedded PGlite in ${dataDir})\n`);
process.stdout.write(`Playground without sync: ${demo.playgroundUrl}\n\nTwo devices syncing through it; open each in a window of its own:\n`);
for (const device of demo.devices) process.stdout.write(`  ${device.name}: ${device.url}\n`);
process.stdout.write('\nAppend on one, watch it arrive on the other. Ctrl-C stops.\n');

if (process.argv.includes('--open')) {
  const opener = process.platform === 'darwin' ? 'open' : process.platform === 'win32' ? 'explorer' : 'xdg-open';
  for (const device of demo.devices) {
    const child = spawn(opener, [device.url], { stdio: 'ignore', detached: true });
    child.on('error', () => process.stdout.write(`(could not start ${opener}: open the URLs by hand)\n`));
    child.unref();
  }
}

let stopping = false;
const stop = () => {
  if (stopping) process.exit(1);
  stopping = true;
  demo.close().then(
    () => process.exit(0),
    (e) => {
      process.stderr.write(`demo:sync: failed to stop cleanly: ${e instanceof Error ? e.message : String(e)}\n`);
      process.exit(1);
    },
  );
};
// Vite's dev server stops and exits by itself on SIGTERM, which would cut the sync server's
// close short (its embedded database and lock file): this script stops both, in turn.
process.removeAllListeners('SIGTERM');
process.on('SIGINT', stop);
process.on('SIGTERM', stop);
