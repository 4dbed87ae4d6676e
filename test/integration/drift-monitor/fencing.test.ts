/**
 * One drift monitor per DRIFT_MONITOR_ID: a second instance started with the same id initialises the same
 * transactional id, which fences the first; the first's next transaction fails and it exits with code 1 saying why,
 * while the second carries on from the state the first committed.
 */
import { readFile } from 'node:fs/promises';
import { afterAll, expect, it } from 'vitest';
import type { DashboardState } from '../../../drift-monitor/analytics/dashboard-state.ts';
import { PipelineHarness } from '../../../stack/pipeline-harness.ts';
import { predict, publishPredictions, releaseModels, requestsFor, samples, waitForState } from './helpers.ts';

const h = new PipelineHarness();

afterAll(async () => {
  await h.close();
  await releaseModels();
});

const counted = (s: DashboardState): number => s.streams.reduce((n, st) => n + st.windows_closed * 50 + st.open_count, 0);

it('fences the older of two monitors with the same id, which exits, and the newer goes on from its state', async () => {
  await h.connect();
  const set = await samples('lossless', 200, 5_000);
  const requests = requestsFor(set);
  const predictions = await predict(set, requests, { version: 'v1', experimentId: null, shadow: false });
  const env = { DRIFT_MONITOR_ID: 'fenced', DRIFT_WINDOW_SIZE: '50', DRIFT_SNAPSHOT_INTERVAL_MS: '300', FATAL_EXIT_DELAY_MS: '500' };
  const first = await h.start('drift-monitor-1', 'drift-monitor', env);
  await publishPredictions(h, predictions.slice(0, 100));
  await waitForState(first, (s) => counted(s) >= 100, 60_000, '100 predictions counted by the first monitor');
  // Let the first commit its snapshot (every 300 ms while something changed).
  await new Promise((r) => setTimeout(r, 1_500));

  const second = await h.start('drift-monitor-2', 'drift-monitor', env);
  await publishPredictions(h, predictions.slice(100));
  const code = await first.exited(60_000);
  const log = await readFile(first.logFile, 'utf8');
  const fatal = log.split('\n').find((line) => line.includes('"level":60')) ?? '';
  const final = await waitForState(second, (s) => counted(s) >= 200, 60_000, 'all 200 predictions counted by the second monitor');
  process.stdout.write(`${JSON.stringify({ test: 'drift-fencing', first_exit_code: code, second_counted: counted(final) })}\n`);
  expect(code).toBe(1);
  expect(fatal).toContain('has taken over (same DRIFT_MONITOR_ID)');
  expect(counted(final)).toBe(200);
  expect(await readFile(second.logFile, 'utf8')).toContain('state restored from snapshot');
}, 300_000);
