/**
 * Finds or starts the servers for a run of the tests or the benchmarks, and points this process at them
 * (process.env), in this order:
 * 1. endpoints already in the environment (KAFKA_BROKERS, SCHEMA_REGISTRY_URL, S3_ENDPOINT all set): used as they are;
 * 2. a Docker engine: Testcontainers (stack/containers.ts);
 * 3. otherwise the local stack (stack/local-stack.ts), installed and started on demand.
 * IMGPIPE_STACK=containers|local skips the detection.
 */
import { LOCAL_STACK_ENV, STACK_ENV_NAMES, type StackEnv } from './endpoints.ts';
import { startLocalStack, stopLocalStack } from './local-stack.ts';

export type StackSource = 'environment' | 'containers' | 'local';

export interface AcquiredStack {
  source: StackSource;
  env: StackEnv;
  /** Stops what this call started (servers that were up before are left running) and restores process.env. */
  stop(): Promise<void>;
}

const REQUIRED = ['KAFKA_BROKERS', 'SCHEMA_REGISTRY_URL', 'S3_ENDPOINT'] as const;

/** The endpoints from `env` when all required ones are set; S3 credentials etc. default to the local stack's. */
export function endpointsFromEnvironment(env: NodeJS.ProcessEnv): StackEnv | undefined {
  if (!REQUIRED.every((name) => env[name])) return undefined;
  return Object.fromEntries(STACK_ENV_NAMES.map((name) => [name, env[name] || LOCAL_STACK_ENV[name]])) as StackEnv;
}

export async function acquireStack(log: (line: string) => void): Promise<AcquiredStack> {
  const { source, env, stopServers } = await findOrStart(log);
  const previous = Object.fromEntries(STACK_ENV_NAMES.map((name) => [name, process.env[name]]));
  Object.assign(process.env, env);
  log(`stack (${source}): Kafka ${env.KAFKA_BROKERS}, registry ${env.SCHEMA_REGISTRY_URL}, S3 ${env.S3_ENDPOINT}`);
  return {
    source,
    env,
    stop: async () => {
      for (const [name, value] of Object.entries(previous)) {
        if (value === undefined) delete process.env[name];
        else process.env[name] = value;
      }
      await stopServers();
    },
  };
}

async function findOrStart(
  log: (line: string) => void,
): Promise<{ source: StackSource; env: StackEnv; stopServers: () => Promise<void> }> {
  const fromEnv = endpointsFromEnvironment(process.env);
  if (fromEnv) return { source: 'environment', env: fromEnv, stopServers: async () => undefined };

  const forced = process.env.IMGPIPE_STACK;
  if (forced && forced !== 'containers' && forced !== 'local') {
    throw new Error(`IMGPIPE_STACK must be "containers" or "local", not "${forced}"`);
  }

  if (forced === 'containers' || (forced === undefined && (await dockerAnswers()))) {
    log('stack: starting Kafka, Apicurio Registry and MinIO with Testcontainers');
    const { startContainers } = await import('./containers.ts');
    const containers = await startContainers();
    return { source: 'containers', env: containers.env, stopServers: containers.stop };
  }

  log('stack: no Docker engine; using the local stack (npm run stack)');
  const { started, env } = await startLocalStack({ log });
  return {
    source: 'local',
    env,
    stopServers: async () => {
      if (started.length > 0) await stopLocalStack({ log, only: started });
    },
  };
}

/** Testcontainers (a dev dependency, with a Docker client) is loaded only when asked whether Docker answers. */
async function dockerAnswers(): Promise<boolean> {
  try {
    const { getContainerRuntimeClient } = await import('testcontainers');
    await getContainerRuntimeClient();
    return true;
  } catch {
    return false;
  }
}
