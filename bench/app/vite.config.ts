import { fileURLToPath } from 'node:url';
import { defineConfig } from 'vite';

/** Where the bench page is built; `.cache/` is ignored by git. */
export const BENCH_APP_OUT = fileURLToPath(new URL('../../.cache/bench-app', import.meta.url));

export default defineConfig({
  root: fileURLToPath(new URL('.', import.meta.url)),
  logLevel: 'warn',
  build: { outDir: BENCH_APP_OUT, emptyOutDir: true },
  worker: { format: 'es' },
  optimizeDeps: { exclude: ['@sqlite.org/sqlite-wasm'] },
});
