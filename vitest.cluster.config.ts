import { defineConfig } from 'vitest/config';
import { withStack } from './vitest.config.ts';

/**
 * A three-node Kafka cluster of its own (ports 19092-19097) beside the single broker, with rolling restarts,
 * SIGKILLs and a SIGSTOP under load (test/cluster/): `npm run test:cluster`. Not part of `npm test` while it
 * fails on the acknowledged-but-lost requests it pins down (issue 18).
 */
export default defineConfig({
  test: {
    name: 'cluster',
    include: ['test/cluster/**/*.test.ts'],
    ...withStack,
    globalSetup: ['test/cluster/cluster-setup.ts'],
    env: { TOPIC_REPLICATION_FACTOR: '3', TOPIC_MIN_INSYNC_REPLICAS: '2' },
    testTimeout: 900_000,
  },
});
