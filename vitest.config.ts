import { defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    include: ['test/**/*.test.ts'],
    testTimeout: 120_000,
    hookTimeout: 120_000,
    // Two cores: the worker-thread tests start their own threads.
    fileParallelism: true,
    maxWorkers: 2,
  },
});
