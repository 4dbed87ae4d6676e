import { defineConfig } from 'vitest/config';

/** Tests that talk to Kafka, the registry and S3 share one stack and wait on real servers. */
export const withStack = {
  globalSetup: ['test/setup/global-setup.ts'],
  setupFiles: ['test/setup/stack-env.ts'],
  testTimeout: 120_000,
  hookTimeout: 600_000, // A cold local stack builds MinIO and the registry first.
  teardownTimeout: 120_000,
  pool: 'forks' as const,
  fileParallelism: false,
};

/**
 * A three-node Kafka cluster of its own (ports 19092-19097) beside the single broker, with rolling restarts,
 * SIGKILLs and a SIGSTOP under load (test/cluster/): runs alone, after the faults project. Also on its own with
 * `npm run test:cluster` (vitest.cluster.config.ts).
 */
export const clusterProject = {
  name: 'cluster',
  include: ['test/cluster/**/*.test.ts'],
  ...withStack,
  globalSetup: ['test/cluster/cluster-setup.ts'],
  env: { TOPIC_REPLICATION_FACTOR: '3', TOPIC_MIN_INSYNC_REPLICAS: '2' },
  testTimeout: 900_000,
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
        // The most representative end-to-end file again, against the compiled output (npm run build) run with
        // plain node, as the image runs it. After the other projects, so the two runs never share the machine.
        test: {
          name: 'e2e-dist',
          include: ['test/e2e/pipeline.test.ts'],
          ...withStack,
          globalSetup: [...withStack.globalSetup, 'test/setup/build-dist.ts'],
          env: { IMGPIPE_SERVICE_RUNTIME: 'dist' },
          sequence: { groupOrder: 1 },
        },
      },
      {
        // Manifests, alert rules and dashboard through kubeconform and promtool, offline (deploy/checks/).
        test: {
          name: 'deploy',
          include: ['test/deploy/**/*.test.ts'],
          globalSetup: ['test/setup/deploy-tools.ts'],
          testTimeout: 60_000,
          hookTimeout: 900_000, // The first run builds kubeconform and kustomize from the Go module proxy.
        },
      },
      {
        // Restarts the broker, the registry and the object store: runs alone, after every other project but cluster.
        test: { name: 'faults', include: ['test/faults/**/*.test.ts'], ...withStack, testTimeout: 900_000, sequence: { groupOrder: 2 } },
      },
      { test: { ...clusterProject, sequence: { groupOrder: 3 } } },
    ],
  },
});
