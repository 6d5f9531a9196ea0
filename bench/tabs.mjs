// Node 20 cannot run TypeScript itself: load the tabs bench through Vite's module runner.
import { fileURLToPath } from 'node:url';
import { runnerImport } from 'vite';

await runnerImport(fileURLToPath(new URL('./tabs.ts', import.meta.url)));
