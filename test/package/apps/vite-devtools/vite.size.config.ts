// Builds size-entry.ts alone, minified as an app build is, into dist-size/: the entry chunk
// is the inspector's tiny entry, the other chunks what it loads when mounted and when its
// views open. (Library mode would keep the whitespace of ES output.)
import { defineConfig } from 'vite';

export default defineConfig({
  build: {
    outDir: 'dist-size',
    emptyOutDir: true,
    rollupOptions: {
      input: 'size-entry.ts',
      preserveEntrySignatures: 'exports-only',
      output: { entryFileNames: 'entry.js' },
    },
  },
});
