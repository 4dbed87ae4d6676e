/** A service started with a bad configuration exits non-zero before connecting, naming the variable. */
import { spawnSync } from 'node:child_process';
import { describe, expect, it } from 'vitest';

const start = (entry: string, env: Record<string, string>) =>
  spawnSync(process.execPath, ['--import', 'tsx', entry], { env: { ...process.env, ...env }, encoding: 'utf8', timeout: 60_000 });

describe('service start with bad configuration', () => {
  it.each([
    ['router/main.ts', { KAFKA_BROKERS: 'not-a-broker' }, 'KAFKA_BROKERS'],
    ['inference-consumers/main.ts', { MAX_BATCH_SIZE: 'lots' }, 'MAX_BATCH_SIZE'],
    ['drift-monitor/main.ts', { DRIFT_PSI_SIGNIFICANT: '-1' }, 'DRIFT_PSI_SIGNIFICANT'],
  ])('%s exits 2 and names %j', (entry, env, variable) => {
    const result = start(entry, env);
    expect(result.status).toBe(2);
    expect(result.stderr).toContain(variable);
    expect(result.stderr).toMatch(/expected/);
  });
});
