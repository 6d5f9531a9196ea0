// Node 20 cannot run TypeScript itself: load the bench through Vite's module runner.
// `node bench/run.mjs [script.ts] [options]`: the bench CLI by default.
import { resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { runnerImport } from 'vite';

const script = process.argv[2]?.endsWith('.ts') ? resolve(process.argv.splice(2, 1)[0]) : fileURLToPath(new URL('./cli.ts', import.meta.url));
await runnerImport(script);
