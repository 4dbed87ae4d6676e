import { defineConfig } from 'vitest/config';
import { clusterProject } from './vitest.config.ts';

/** The cluster fault suite alone (`npm run test:cluster`); `npm test` runs it last, after the faults project. */
export default defineConfig({ test: clusterProject });
