// Node 20 cannot run TypeScript itself: load the bench through Vite's module runner.
import { fileURLToPath } from 'node:url';
import { runnerImport } from 'vite';

await runnerImport(fileURLToPath(new URL('./cli.ts', import.meta.url)));
