/**
 * Global setup of the cluster project: the registry and object store as for the other projects
 * (stack/acquire-stack.ts), and a fresh three-node Kafka cluster of this checkout (stack/kafka-cluster.ts) in place of
 * the single broker. The cluster is stopped, every node's process group, and its state deleted afterwards; the nodes'
 * logs are kept beside the services' (.state/test-logs/cluster-<time>/), for the timeline of a fault: when the
 * controller fenced a dead node, when leaders and coordinators moved.
 */
import { copyFileSync, existsSync, mkdirSync } from 'node:fs';
import { join } from 'node:path';
import type { TestProject } from 'vitest/node';

import { acquireStack } from '../../stack/acquire-stack.ts';
import { KafkaCluster } from '../../stack/kafka-cluster.ts';
import { REPO_ROOT } from '../../stack/paths.ts';

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
    await cluster.stop();
    keepNodeLogs(cluster);
    await cluster.stop({ purge: true });
    await stack.stop();
  };
}

function keepNodeLogs(cluster: KafkaCluster): void {
  const dir = join(REPO_ROOT, '.state', 'test-logs', `cluster-${new Date().toISOString().replace(/[:.]/g, '-')}`);
  mkdirSync(dir, { recursive: true });
  for (const node of cluster.nodes) {
    if (existsSync(node.logFile)) copyFileSync(node.logFile, join(dir, `node-${node.id}.log`));
  }
  process.stderr.write(`cluster: node logs kept in ${dir}\n`);
}
