/**
 * Chooses the servers the integration and e2e tests run against, in this order:
 * 1. endpoints already in the environment (KAFKA_BROKERS, SCHEMA_REGISTRY_URL, S3_ENDPOINT all set): used as they are;
 * 2. a Docker engine: Testcontainers;
 * 3. otherwise the local stack (stack/local-stack.ts), installed and started on demand.
 * IMGPIPE_TEST_STACK=containers|local skips the detection.
 */
import { getContainerRuntimeClient } from 'testcontainers';

import { LOCAL_STACK_ENV, STACK_ENV_NAMES, type StackEnv } from '../../stack/endpoints.ts';
import { startLocalStack, stopLocalStack } from '../../stack/local-stack.ts';

export type StackSource = 'environment' | 'containers' | 'local';

export interface TestStack {
  source: StackSource;
  env: StackEnv;
  /** Stops what this run started; servers that were up before the run are left running. */
  stop(): Promise<void>;
}

const REQUIRED = ['KAFKA_BROKERS', 'SCHEMA_REGISTRY_URL', 'S3_ENDPOINT'] as const;

/** The endpoints from `env` when all required ones are set; S3 credentials etc. default to the local stack's. */
export function endpointsFromEnvironment(env: NodeJS.ProcessEnv): StackEnv | undefined {
  if (!REQUIRED.every((name) => env[name])) return undefined;
  return Object.fromEntries(STACK_ENV_NAMES.map((name) => [name, env[name] || LOCAL_STACK_ENV[name]])) as StackEnv;
}

export async function acquireTestStack(log: (line: string) => void): Promise<TestStack> {
  const fromEnv = endpointsFromEnvironment(process.env);
  if (fromEnv) return { source: 'environment', env: fromEnv, stop: async () => undefined };

  const forced = process.env.IMGPIPE_TEST_STACK;
  if (forced && forced !== 'containers' && forced !== 'local') {
    throw new Error(`IMGPIPE_TEST_STACK must be "containers" or "local", not "${forced}"`);
  }

  if (forced === 'containers' || (forced === undefined && (await dockerAnswers()))) {
    log('test stack: starting Kafka, Apicurio Registry and MinIO with Testcontainers');
    // Loaded only here: the module pulls in the Docker client.
    const { startContainers } = await import('./containers.ts');
    const containers = await startContainers();
    return { source: 'containers', env: containers.env, stop: containers.stop };
  }

  log('test stack: no Docker engine; using the local stack (npm run stack)');
  const { started } = await startLocalStack({ log });
  return {
    source: 'local',
    env: { ...LOCAL_STACK_ENV },
    stop: async () => {
      if (started.length > 0) await stopLocalStack({ log, only: started });
    },
  };
}

async function dockerAnswers(): Promise<boolean> {
  try {
    await getContainerRuntimeClient();
    return true;
  } catch {
    return false;
  }
}
