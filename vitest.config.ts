import { configDefaults, defineConfig } from 'vitest/config';

/** The Storage contract suites need no database: they run in their own project, without the stack. */
const STORAGE_CONTRACTS = 'test/contract/storage-*.test.ts';
/** The cloud drivers' suites need the stack's storage servers, not its databases: a project of their own. */
const CLOUD_CONTRACTS = 'test/contract/cloud-storage-*.test.ts';

export default defineConfig({
  test: {
    projects: [
      {
        test: {
          name: 'unit',
          include: ['test/unit/**/*.test.ts'],
          // Some unit tests start the CLI or ESLint: on a machine whose CPUs are busy they need more than 5 s.
          testTimeout: 60_000,
        },
      },
      {
        test: {
          name: 'contract-storage',
          include: [STORAGE_CONTRACTS],
          testTimeout: 60_000,
        },
      },
      {
        test: {
          name: 'contract-cloud',
          include: [CLOUD_CONTRACTS],
          globalSetup: ['test/setup/require-cloud.ts'],
          setupFiles: ['test/setup/stack-env.ts'],
          testTimeout: 300_000,
          hookTimeout: 300_000,
          // One server per provider, and 2 cores: one file at a time.
          fileParallelism: false,
        },
      },
      {
        test: {
          name: 'integration',
          include: ['test/integration/**/*.test.ts', 'test/contract/**/*.test.ts', 'test/e2e/**/*.test.ts'],
          exclude: [...configDefaults.exclude, STORAGE_CONTRACTS, CLOUD_CONTRACTS],
          globalSetup: ['test/setup/require-stack.ts'],
          setupFiles: ['test/setup/stack-env.ts'],
          testTimeout: 300_000,
          hookTimeout: 300_000,
          // The suites share three live databases: run files one after another.
          fileParallelism: false,
        },
      },
      {
        test: {
          // Fault campaigns (SIGKILL at random moments, bit flips) against the live stack. `npm test` runs a short
          // sample; `ACX_FAULT_TRIALS=50 npm run test:faults` runs the full campaign.
          name: 'faults',
          include: ['test/faults/**/*.test.ts'],
          globalSetup: ['test/setup/require-stack.ts'],
          setupFiles: ['test/setup/stack-env.ts'],
          testTimeout: 1_800_000,
          hookTimeout: 300_000,
          fileParallelism: false,
        },
      },
    ],
  },
});
