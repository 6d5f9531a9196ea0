// What a webpack 5 user writes: an entry and an output folder. webpack understands
// `new Worker(new URL(…, import.meta.url))` and `new URL('x.wasm', import.meta.url)` itself.
import { fileURLToPath } from 'node:url';

export default {
  mode: 'production',
  entry: './src/main.js',
  output: { path: fileURLToPath(new URL('./dist', import.meta.url)), clean: true },
  performance: { hints: false },
};
