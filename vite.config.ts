/** The playground's dev server (`npm run demo`), on the library's sources. */
import { fileURLToPath } from 'node:url';
import react from '@vitejs/plugin-react';
import { defineConfig } from 'vite';

const source = (path: string): string => fileURLToPath(new URL(path, import.meta.url));

export default defineConfig({
  root: source('./demo'),
  plugins: [react()],
  server: { host: '127.0.0.1', port: 5173 },
  preview: { host: '127.0.0.1', port: 4173 },
  resolve: {
    alias: [
      { find: /^cairndb\/worker$/, replacement: source('./worker/index.ts') },
      { find: /^cairndb\/react$/, replacement: source('./src/react/index.ts') },
      { find: /^cairndb\/devtools$/, replacement: source('./src/devtools/index.ts') },
      { find: /^cairndb$/, replacement: source('./src/client/index.ts') },
    ],
  },
  worker: { format: 'es' },
  optimizeDeps: {
    // sqlite-wasm finds its .wasm next to its own module; pre-bundling would move it.
    exclude: ['@sqlite.org/sqlite-wasm'],
    // Pre-bundled at start-up: found later (the inspector's lazy chunks), they would make
    // the dev server reload the page in the middle of a session.
    include: [
      'react',
      'react/jsx-dev-runtime',
      'react-dom/client',
      '@codemirror/autocomplete',
      '@codemirror/commands',
      '@codemirror/lang-sql',
      '@codemirror/language',
      '@codemirror/state',
      '@codemirror/view',
      'uplot',
    ],
  },
  build: { outDir: source('./.cache/demo'), emptyOutDir: true },
});
