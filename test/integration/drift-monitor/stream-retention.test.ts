/**
 * Experiments that stopped leave the running drift monitor: after DRIFT_STREAM_RETENTION_SECONDS of prediction time
 * without one of theirs, their streams go from the state (and so from /api/state and the snapshot) and their series
 * from /metrics, while their windows were reported as usual and the running experiment is untouched.
 */
import { afterAll, expect, it } from 'vitest';
import type { WindowSummary } from '../../../drift-monitor/analytics/window-summary.ts';
import { PipelineHarness } from '../../../stack/pipeline-harness.ts';
import { metricValue, monitorState, predict, publishPredictions, releaseModels, requestsFor, samples, waitForState } from './helpers.ts';

const WINDOW = 50;
const PER_EXPERIMENT = 100;
const HOUR = 3_600_000;
const h = new PipelineHarness();

afterAll(async () => {
  await h.close();
  await releaseModels();
});

it('forgets the streams and series of an experiment idle past the retention, after reporting its windows', async () => {
  await h.connect();
  const set = await samples('lossless', 2 * PER_EXPERIMENT, 4_000);
  const all = requestsFor(set);
  const started = Date.now();
  // The finished rollout's predictions are three hours older than the running one's.
  const old = (await predict(set, all.slice(0, PER_EXPERIMENT), { version: 'v1', experimentId: 'rollout-old', shadow: false }))
    .map((p) => ({ ...p, predicted_at: started - 3 * HOUR }));
  const running = await predict(set, all.slice(PER_EXPERIMENT), { version: 'v1', experimentId: 'rollout-running', shadow: false });

  const reports = await h.collect<WindowSummary>(h.clients.topics.drift);
  const monitor = await h.start('drift-monitor', 'drift-monitor', { DRIFT_WINDOW_SIZE: String(WINDOW), DRIFT_STREAM_RETENTION_SECONDS: '3600' });
  await publishPredictions(h, old);
  await waitForState(monitor, (s) => s.streams.some((st) => st.experiment_id === 'rollout-old' && st.windows_closed === 2), 60_000, 'the old experiment counted');
  const before = await (await fetch(`${monitor.opsUrl}/metrics`)).text();
  expect(metricValue(before, 'drift_predictions_total', { experiment: 'rollout-old', outcome: 'counted' })).toBe(PER_EXPERIMENT);

  await publishPredictions(h, running);
  const state = await waitForState(monitor, (s) => s.streams.length === 1 && s.streams[0]!.experiment_id === 'rollout-running' && s.streams[0]!.windows_closed === 2,
    60_000, 'only the running experiment left');
  expect(state.streams[0]!.windows_closed * WINDOW).toBe(PER_EXPERIMENT);
  await reports.waitFor((items) => items.length === 4, 30_000);
  // Reports are keyed by stream and window, so a stream's windows may sit on different partitions: any order.
  expect(reports.items.filter((r) => r.value.experiment_id === 'rollout-old').map((r) => r.value.window_index).sort()).toEqual([0, 1]);

  const after = await (await fetch(`${monitor.opsUrl}/metrics`)).text();
  expect(after).not.toContain('experiment="rollout-old"');
  expect(metricValue(after, 'drift_predictions_total', { experiment: 'rollout-running', outcome: 'counted' })).toBe(PER_EXPERIMENT);
  expect(metricValue(after, 'drift_severity', { experiment: 'rollout-running' })).toBeDefined();

  // The snapshot holds what the state holds: restarted, the monitor comes back without the old experiment.
  expect(await monitor.stop()).toBe(0);
  const restarted = await h.start('drift-monitor-2', 'drift-monitor', { DRIFT_WINDOW_SIZE: String(WINDOW), DRIFT_STREAM_RETENTION_SECONDS: '3600' });
  expect((await monitorState(restarted)).streams.map((s) => s.experiment_id)).toEqual(['rollout-running']);
}, 240_000);
