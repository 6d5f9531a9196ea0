/** The playground's dev server (`npm run demo`), on the library's sources. */
import { fileURLToPath } from 'node:url';
import { defineConfig } from 'vite';

export default defineConfig({
  root: fileURLToPath(new URL('./demo', import.meta.url)),
  server: { host: '127.0.0.1', port: 5173 },
  preview: { host: '127.0.0.1', port: 4173 },
  resolve: {
    alias: [
      { find: /^cairndb\/worker$/, replacement: fileURLToPath(new URL('./worker/index.ts', import.meta.url)) },
      { find: /^cairndb$/, replacement: fileURLToPath(new URL('./src/client/index.ts', import.meta.url)) },
    ],
  },
  worker: { format: 'es' },
  // sqlite-wasm finds its .wasm next to its own module; pre-bundling would move it.
  optimizeDeps: { exclude: ['@sqlite.org/sqlite-wasm'] },
  build: { outDir: fileURLToPath(new URL('./.cache/demo', import.meta.url)), emptyOutDir: true },
});
