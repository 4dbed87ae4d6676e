/**
 * Global setup of the integration and e2e projects: brings up the stack once per run (see test-stack.ts) and
 * hands the endpoints to the test workers, which copy them into process.env (see stack-env.ts).
 */
import type { TestProject } from 'vitest/node';

import type { StackEnv } from '../../stack/endpoints.ts';
import { acquireTestStack } from './test-stack.ts';

declare module 'vitest' {
  export interface ProvidedContext {
    stackEnv: StackEnv;
  }
}

export default async function setup(project: TestProject): Promise<() => Promise<void>> {
  const log = (line: string) => process.stderr.write(`${line}\n`);
  const stack = await acquireTestStack(log);
  project.provide('stackEnv', stack.env);

  // Both projects' setups run in this process: the second finds the endpoints set and uses them as given.
  const previous = { ...process.env };
  Object.assign(process.env, stack.env);
  log(`test stack (${stack.source}): Kafka ${stack.env.KAFKA_BROKERS}, registry ${stack.env.SCHEMA_REGISTRY_URL}, S3 ${stack.env.S3_ENDPOINT}`);

  return async () => {
    for (const name of Object.keys(stack.env)) {
      if (previous[name] === undefined) delete process.env[name];
      else process.env[name] = previous[name];
    }
    await stack.stop();
  };
}
