import { fileURLToPath } from 'node:url';
import react from '@vitejs/plugin-react';
import { defineConfig } from 'vite';

const src = (path: string): string => fileURLToPath(new URL(`../src/${path}`, import.meta.url));

/**
 * The dashboard is built into dist/web, next to the server that serves it. It takes the SDK and the
 * verifier from their sources, the same files `verity/sdk` and `verity/verify` are built from, so the
 * page runs exactly the checks the CLI runs.
 */
export default defineConfig({
  root: fileURLToPath(new URL('.', import.meta.url)),
  base: '/',
  plugins: [react()],
  resolve: {
    alias: {
      'verity/sdk': src('sdk/index.ts'),
      'verity/verify': src('attest/index.ts'),
    },
  },
  worker: { format: 'es' },
  build: {
    outDir: fileURLToPath(new URL('../dist/web', import.meta.url)),
    emptyOutDir: true,
    // Nothing is fetched from elsewhere at run time: every asset is a file of dist/web.
    assetsInlineLimit: 0,
    // Pages past the executions list load on first use (Root.tsx): the first script is React, zod and the
    // SDK (~370 kB); React Flow, the verifier, YAML and uPlot come in their own chunks.
    chunkSizeWarningLimit: 400,
    rollupOptions: {
      // The zk level's verifier loads snarkjs on first use; it is a Node-sized dependency the dashboard
      // does not ship (the page verifies levels basic and full, and says so for a zk bundle).
      external: ['snarkjs'],
    },
  },
});
