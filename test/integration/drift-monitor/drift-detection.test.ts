/**
 * Drift on the real stack: clean Fashion-MNIST test images keep every PSI of v1's windows below 0.1 against the
 * manifest reference; darkened and then inverted images make the next window significant. Undecodable and
 * wrong-schema records on the predictions topic go to the dead-letter topic without stopping the monitor.
 */
import { readFile } from 'node:fs/promises';
import { afterAll, expect, it } from 'vitest';
import type { WindowSummary } from '../../../drift-monitor/analytics/window-summary.ts';
import type { DeadLetter } from '../../../platform/dead-letter.ts';
import { PipelineHarness } from '../../../stack/pipeline-harness.ts';
import { metricValue, predict, publishPredictions, releaseModels, requestsFor, samples } from './helpers.ts';

const WINDOW = 500;
const h = new PipelineHarness();

afterAll(async () => {
  await h.close();
  await releaseModels();
});

it('keeps clean windows stable and reports a significant window right after the inputs shift', async () => {
  await h.connect();
  const [clean, dark, invert] = await Promise.all([samples('lossless', 2 * WINDOW, 0), samples('dark', WINDOW, 5_000), samples('invert', WINDOW, 6_000)]);
  const routing = { version: 'v1', experimentId: null, shadow: false };
  const [cleanPredictions, darkPredictions, invertPredictions] = [
    await predict(clean, requestsFor(clean), routing),
    await predict(dark, requestsFor(dark), routing),
    await predict(invert, requestsFor(invert), routing),
  ];
  const reports = await h.collect<WindowSummary>(h.clients.topics.drift);
  const deadLetters = await h.collect<DeadLetter>(h.clients.topics.dlq);
  const monitor = await h.start('drift-monitor', 'drift-monitor', { DRIFT_WINDOW_SIZE: String(WINDOW), DRIFT_SNAPSHOT_INTERVAL_MS: '1000' });

  await publishPredictions(h, cleanPredictions);
  // Not Avro at all (SchemaError), and a Feedback where a Prediction belongs (SchemaMismatch): both dead letters, neither counted.
  await h.clients.producer.send({ topic: h.clients.topics.predictions, acks: -1, messages: [{ key: 'junk', value: Buffer.from('not avro') }] });
  await h.clients.producer.send({
    topic: h.clients.topics.predictions, acks: -1,
    messages: [{ key: 'fb', value: await h.clients.serde.encode(h.clients.topics.feedback, 'Feedback', { request_id: 'fb', true_label: 'Bag', true_index: 8, observed_at: Date.now(), source: null }) }],
  });
  await reports.waitFor((items) => items.length >= 2, 90_000, () => `${reports.items.length} of 2 clean reports`);
  await publishPredictions(h, darkPredictions);
  await reports.waitFor((items) => items.length >= 3, 60_000, () => `${reports.items.length} of 3 reports`);
  await publishPredictions(h, invertPredictions);
  await reports.waitFor((items) => items.length >= 4, 60_000, () => `${reports.items.length} of 4 reports`);
  await deadLetters.waitFor((items) => items.length >= 2, 30_000);

  const byIndex = reports.items.map((r) => r.value).sort((a, b) => a.window_index - b.window_index);
  const psi = (r: WindowSummary) => Object.fromEntries(r.metrics.map((m) => [m.name, Number(m.psi.toFixed(4))]));
  process.stdout.write(`${JSON.stringify({ test: 'drift-detection', window: WINDOW, windows: byIndex.map((r) => ({ index: r.window_index, severity: r.severity, psi: psi(r) })) })}\n`);

  expect(byIndex.map((r) => r.window_index)).toEqual([0, 1, 2, 3]);
  expect(byIndex.every((r) => r.count === WINDOW && r.model_version === 'v1' && r.variant === 'served')).toBe(true);
  for (const clean of byIndex.slice(0, 2)) {
    expect(clean.metrics.map((m) => m.name).sort()).toEqual(['brightness', 'confidence', 'contrast', 'predicted_class']);
    expect(clean.metrics.every((m) => m.psi < 0.1 && m.reference === 'manifest')).toBe(true);
    expect(clean.severity).toBe('stable');
  }
  const [darkReport, invertReport] = [byIndex[2]!, byIndex[3]!];
  expect(darkReport.severity).toBe('significant');
  expect(darkReport.metrics.find((m) => m.name === 'brightness')!.psi).toBeGreaterThan(0.25);
  expect(invertReport.severity).toBe('significant');
  expect(invertReport.metrics.find((m) => m.name === 'brightness')!.psi).toBeGreaterThan(0.25);

  expect(deadLetters.items.map((d) => [d.value.service, d.value.stage, d.value.error_class]).sort()).toEqual([
    ['drift-monitor', 'decode', 'SchemaError'],
    ['drift-monitor', 'decode', 'SchemaMismatch'],
  ]);
  const metrics = await (await fetch(`${monitor.opsUrl}/metrics`)).text();
  const labels = { model_version: 'v1', variant: 'served' };
  expect(metricValue(metrics, 'drift_severity', labels)).toBe(2);
  expect(metricValue(metrics, 'drift_psi', { ...labels, metric: 'brightness' })).toBeCloseTo(invertReport.metrics.find((m) => m.name === 'brightness')!.psi, 6);
  expect(metricValue(metrics, 'drift_windows_closed_total', { ...labels, severity: 'significant' })).toBe(2);
  expect(metricValue(metrics, 'drift_predictions_total', { ...labels, outcome: 'counted' })).toBe(4 * WINDOW);
  expect(metricValue(metrics, 'drift_dead_letters_total', { error_class: 'SchemaError' })).toBe(1);
  expect(metricValue(metrics, 'drift_dead_letters_total', { error_class: 'SchemaMismatch' })).toBe(1);
  // One structured line when the severity rose (stable → significant).
  const rises = (await readFile(monitor.logFile, 'utf8')).split('\n').filter((line) => line.includes('"event":"drift_severity_rose"'));
  expect(rises).toHaveLength(1);
  expect(JSON.parse(rises[0]!)).toMatchObject({ level: 40, model_version: 'v1', variant: 'served', from: 'stable', to: 'significant', window_index: 2 });
}, 300_000);
