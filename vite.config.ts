/** The library build: `npm run build` writes the package's entry points to dist/. */
import { fileURLToPath } from 'node:url';
import { defineConfig } from 'vite';

const entry = (path: string) => fileURLToPath(new URL(path, import.meta.url));

export default defineConfig({
  build: {
    outDir: 'dist',
    emptyOutDir: true,
    target: 'es2022',
    lib: {
      entry: {
        cairndb: entry('./src/client/index.ts'),
        worker: entry('./worker/index.ts'),
        core: entry('./src/core/index.ts'),
      },
      formats: ['es'],
    },
    rollupOptions: {
      // Dependencies stay imports: the application's bundler resolves them.
      external: ['@sqlite.org/sqlite-wasm', 'ulid', 'idb'],
    },
  },
  worker: {
    format: 'es',
    rollupOptions: { external: [] },
  },
});
