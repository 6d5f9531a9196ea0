// The service worker, built as one file (service workers may not import() at run time),
// into the app's output folder, as PWA tooling does.
import { defineConfig } from 'vite';

export default defineConfig({
  build: {
    emptyOutDir: false,
    rollupOptions: {
      input: { sw: './sw.ts' },
      output: { entryFileNames: '[name].js', inlineDynamicImports: true },
    },
  },
});
