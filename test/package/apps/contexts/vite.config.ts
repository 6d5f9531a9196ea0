// Module workers, so that a worker may code-split.
import { defineConfig } from 'vite';

export default defineConfig({ worker: { format: 'es' } });
