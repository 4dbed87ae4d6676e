/**
 * Global setup of the integration and e2e projects: finds or starts the stack once per run (stack/acquire-stack.ts)
 * and hands the endpoints to the test workers, which copy them into process.env (see stack-env.ts).
 */
import type { TestProject } from 'vitest/node';

import { acquireStack } from '../../stack/acquire-stack.ts';
import type { StackEnv } from '../../stack/endpoints.ts';

declare module 'vitest' {
  export interface ProvidedContext {
    stackEnv: StackEnv;
  }
}

export default async function setup(project: TestProject): Promise<() => Promise<void>> {
  // acquireStack also sets this process's env, so when both projects run, the second setup finds the first's
  // endpoints and uses them as given; the first one's teardown stops the servers.
  const stack = await acquireStack((line) => process.stderr.write(`${line}\n`));
  project.provide('stackEnv', stack.env);
  return () => stack.stop();
}
