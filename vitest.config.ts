import { defineConfig } from 'vitest/config';

/** Tests that talk to Kafka, the registry and S3 share one stack and wait on real servers. */
const withStack = {
  globalSetup: ['test/setup/global-setup.ts'],
  setupFiles: ['test/setup/stack-env.ts'],
  testTimeout: 120_000,
  hookTimeout: 600_000, // A cold local stack builds MinIO and the registry first.
  teardownTimeout: 120_000,
  pool: 'forks' as const,
  fileParallelism: false,
};

export default defineConfig({
  test: {
    projects: [
      {
        test: {
          name: 'unit',
          include: ['test/unit/**/*.test.ts'],
          exclude: ['**/node_modules/**', '**/dist/**'],
        },
      },
      {
        test: { name: 'integration', include: ['test/integration/**/*.test.ts'], ...withStack },
      },
      {
        test: { name: 'e2e', include: ['test/e2e/**/*.test.ts'], ...withStack },
      },
      {
        // Restarts the broker, the registry and the object store: runs alone, after every other project.
        test: { name: 'faults', include: ['test/faults/**/*.test.ts'], ...withStack, testTimeout: 900_000, sequence: { groupOrder: 1 } },
      },
    ],
  },
});
