/** Runs in every integration/e2e worker before its tests: the stack's endpoints become process.env. */
import { inject } from 'vitest';

Object.assign(process.env, inject('stackEnv'));
