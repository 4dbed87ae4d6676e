/**
 * Time windows on the real stack: a stream that goes quiet still gets its window closed and reported once the
 * window's time has passed (the monitor's timer), and every prediction is in exactly one report.
 */
import { afterAll, expect, it } from 'vitest';
import type { WindowSummary } from '../../../drift-monitor/analytics/window-summary.ts';
import { PipelineHarness } from '../../../stack/pipeline-harness.ts';
import { predict, publishPredictions, releaseModels, requestsFor, samples } from './helpers.ts';

const SECONDS = 2;
const COUNT = 120;
const h = new PipelineHarness();

afterAll(async () => {
  await h.close();
  await releaseModels();
});

it('closes a quiet stream\'s time window when its time has passed', async () => {
  await h.connect();
  const set = await samples('lossless', COUNT, 8_000);
  const predictions = await predict(set, requestsFor(set), { version: 'v1', experimentId: null, shadow: false });
  const reports = await h.collect<WindowSummary>(h.clients.topics.drift);
  await h.start('drift-monitor', 'drift-monitor', { DRIFT_WINDOW_KIND: 'time', DRIFT_WINDOW_SECONDS: String(SECONDS) });
  await publishPredictions(h, predictions);
  // Nothing else arrives: only the timer can close the last window.
  await reports.waitFor((items) => items.reduce((n, r) => n + r.value.count, 0) >= COUNT, 30_000,
    () => `${reports.items.reduce((n, r) => n + r.value.count, 0)} of ${COUNT} predictions reported`);
  const windows = reports.items.map((r) => r.value);
  process.stdout.write(`${JSON.stringify({ test: 'time-windows', windows: windows.map((w) => ({ index: w.window_index, start: w.window_start, count: w.count, severity: w.severity })) })}\n`);
  expect(windows.reduce((n, r) => n + r.count, 0)).toBe(COUNT);
  for (const w of windows) {
    expect(w.window_end - w.window_start).toBe(SECONDS * 1000);
    expect(w.window_start % (SECONDS * 1000)).toBe(0);
  }
  const predictedAt = predictions.map((p) => p.predicted_at);
  expect(Math.min(...windows.map((w) => w.window_start))).toBeLessThanOrEqual(Math.min(...predictedAt));
  expect(Math.max(...windows.map((w) => w.window_end))).toBeGreaterThan(Math.max(...predictedAt));
}, 120_000);
