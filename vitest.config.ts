import { defineConfig } from 'vitest/config';
import ZkLastSequencer from './test/support/sequencer.js';

export default defineConfig({
  test: {
    include: ['test/**/*.test.ts'],
    // Integration tests start real processes and share two cores; forks keep native modules isolated.
    pool: 'forks',
    maxWorkers: 2,
    testTimeout: 60_000,
    hookTimeout: 60_000,
    sequence: { sequencer: ZkLastSequencer },
  },
});
