import { defineConfig } from 'vitest/config';

// Two projects: `unit` runs pure logic beside the code (no network); `stack` runs end-to-end tests
// in test/ against one local stack of real parts started by test/setup/global.ts.
export default defineConfig({
  test: {
    reporters: ['default'],
    // There is no Google metadata server on these machines; stop the client libraries probing for one.
    env: { METADATA_SERVER_DETECTION: 'none' },
    projects: [
      {
        test: {
          name: 'unit',
          // Pure logic is fast, but a few tests load the functions' whole module graph (googleapis,
          // functions-framework), which takes seconds on two busy cores.
          testTimeout: 30_000,
          include: [
            'shared/**/*.test.ts',
            'functions/**/*.test.ts',
            'cli/**/*.test.ts',
            'infra/**/*.test.ts',
            'scripts/**/*.test.ts',
          ],
        },
      },
      {
        test: {
          name: 'stack',
          include: ['test/**/*.test.ts'],
          globalSetup: ['test/setup/global.ts'],
          testTimeout: 120_000,
          hookTimeout: 120_000,
          // Two cores: keep the number of test files that drive the stack at once small.
          maxWorkers: 2,
        },
      },
    ],
  },
});
