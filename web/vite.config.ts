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
    // The verifier (zod, JSONata, the checks) and React Flow make one ~750 kB script; it is cached for a year.
    chunkSizeWarningLimit: 1000,
    rollupOptions: {
      // The zk level's verifier loads snarkjs on first use; it is a Node-sized dependency the dashboard
      // does not ship (the page verifies levels basic and full, and says so for a zk bundle).
      external: ['snarkjs'],
    },
  },
});
