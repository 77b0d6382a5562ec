import { defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    projects: [
      {
        test: {
          name: 'unit',
          include: ['test/unit/**/*.test.ts'],
        },
      },
      {
        test: {
          name: 'integration',
          include: ['test/integration/**/*.test.ts', 'test/contract/**/*.test.ts', 'test/e2e/**/*.test.ts'],
          globalSetup: ['test/setup/require-stack.ts'],
          setupFiles: ['test/setup/stack-env.ts'],
          testTimeout: 300_000,
          hookTimeout: 300_000,
          // The suites share three live databases: run files one after another.
          fileParallelism: false,
        },
      },
    ],
  },
});
