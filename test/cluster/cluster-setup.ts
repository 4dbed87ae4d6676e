/**
 * Global setup of the cluster project: the registry and object store as for the other projects
 * (stack/acquire-stack.ts), and a fresh three-node Kafka cluster of this checkout (stack/kafka-cluster.ts) in place of
 * the single broker. The cluster is stopped, every node's process group, and its state deleted afterwards.
 */
import type { TestProject } from 'vitest/node';

import { acquireStack } from '../../stack/acquire-stack.ts';
import { KafkaCluster } from '../../stack/kafka-cluster.ts';

declare module 'vitest' {
  export interface ProvidedContext {
    clusterBootstrap: string;
  }
}

export default async function setup(project: TestProject): Promise<() => Promise<void>> {
  const log = (line: string): void => void process.stderr.write(`${line}\n`);
  const stack = await acquireStack(log);
  const cluster = new KafkaCluster(3, log);
  try {
    await cluster.stop({ purge: true }); // What an interrupted run left: start from empty logs.
    await cluster.start();
  } catch (error) {
    await cluster.stop({ purge: true }).catch(() => undefined);
    await stack.stop();
    throw error;
  }
  project.provide('stackEnv', { ...stack.env, KAFKA_BROKERS: cluster.bootstrap });
  project.provide('clusterBootstrap', cluster.bootstrap);
  return async () => {
    await cluster.stop({ purge: true });
    await stack.stop();
  };
}
