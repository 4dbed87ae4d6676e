/**
 * Label-free accuracy (drift-monitor/analytics/label-free.ts): the calibrated top-1 probability from top-k
 * scores, the window's estimate and its interval, and a simulation of the interval's coverage when the
 * calibration holds (the assumption it is stated under).
 */
import { Registry } from 'prom-client';
import { describe, expect, it } from 'vitest';
import { buildDashboardState } from '../../../drift-monitor/analytics/dashboard-state.ts';
import { applyPrediction, createDriftState, driftConfig, type DriftContext } from '../../../drift-monitor/analytics/drift-state.ts';
import { addCalibrated, calibratedTopProbability, expectedAccuracy, type CalibratedSums, type ModelCalibration } from '../../../drift-monitor/analytics/label-free.ts';
import { renderDashboard } from '../../../drift-monitor/dashboard/render.js';
import { createDriftMetrics, recordWindow } from '../../../drift-monitor/service/metrics.ts';
import { prng } from '../../../rollouts/simulation.ts';
import { noReference, prediction, T0, withReference } from './fixtures.ts';

function softmax(z: number[], t = 1): number[] {
  const m = Math.max(...z);
  const e = z.map((x) => Math.exp((x - m) / t));
  const s = e.reduce((a, b) => a + b, 0);
  return e.map((x) => x / s);
}

const LOGITS = [4.1, 2.3, 1.9, 0.4, -0.2, -1, -1.5, -2, -2.2, -3];
const sortedDesc = (xs: number[]): number[] => [...xs].sort((a, b) => b - a);

describe('calibratedTopProbability', () => {
  it('is softmax(logits / T) of the top class when every score travels', () => {
    const c: ModelCalibration = { temperature: 1.7, num_classes: 10 };
    const p = sortedDesc(softmax(LOGITS));
    expect(calibratedTopProbability(p, c)).toBeCloseTo(Math.max(...softmax(LOGITS, 1.7)), 12);
    expect(calibratedTopProbability(p.slice(0, 9), c)).toBeCloseTo(Math.max(...softmax(LOGITS, 1.7)), 12);
  });

  it('leaves the probability as it is at T = 1, whatever k', () => {
    const p = sortedDesc(softmax(LOGITS));
    for (const k of [1, 3, 5, 10]) expect(calibratedTopProbability(p.slice(0, k), { temperature: 1, num_classes: 10 })).toBeCloseTo(p[0]!, 12);
  });

  it('with the top 5 of 10 scores, is within the bounds the missing mass allows and close to the exact value', () => {
    const exact = Math.max(...softmax(LOGITS, 2));
    const top5 = sortedDesc(softmax(LOGITS)).slice(0, 5);
    const estimate = calibratedTopProbability(top5, { temperature: 2, num_classes: 10 })!;
    // For T > 1 an even split of the missing mass gives the lowest value possible.
    expect(estimate).toBeLessThanOrEqual(exact + 1e-12);
    expect(exact - estimate).toBeLessThan(0.01);
  });

  it('sharpens for T < 1 and flattens for T > 1; refuses scores that are not probabilities', () => {
    const p = sortedDesc(softmax(LOGITS)).slice(0, 5);
    expect(calibratedTopProbability(p, { temperature: 0.5, num_classes: 10 })!).toBeGreaterThan(p[0]!);
    expect(calibratedTopProbability(p, { temperature: 2, num_classes: 10 })!).toBeLessThan(p[0]!);
    for (const bad of [[], [1.5], [-0.1], [Number.NaN], [0]]) expect(calibratedTopProbability(bad, { temperature: 1, num_classes: 10 })).toBeNull();
  });
});

describe('expectedAccuracy', () => {
  it('is the mean with the normal interval of a sum of independent Bernoulli(cᵢ)', () => {
    const s: CalibratedSums = { count: 0, sum: 0, squares: 0 };
    for (const c of [0.9, 0.8, 0.99, 0.6]) addCalibrated(s, c);
    const e = expectedAccuracy(s, 0.95)!;
    const sd = Math.sqrt(0.9 * 0.1 + 0.8 * 0.2 + 0.99 * 0.01 + 0.6 * 0.4) / 4;
    expect(e.estimate).toBeCloseTo(0.8225, 12);
    expect(e.estimate - e.low).toBeCloseTo(1.959964 * sd, 5);
    // Clamped to [0, 1].
    expect(e.high).toBe(1);
    expect(e.square_mean).toBeCloseTo((0.81 + 0.64 + 0.9801 + 0.36) / 4, 12);
    expect(expectedAccuracy({ count: 0, sum: 0, squares: 0 }, 0.95)).toBeNull();
  });

  it('covers the accuracy of a window about 95 % of the time when each prediction is right with its calibrated probability (simulation, 4000 windows of 200)', () => {
    const random = prng(16);
    let covered = 0;
    const windows = 4000;
    for (let w = 0; w < windows; w++) {
      const s: CalibratedSums = { count: 0, sum: 0, squares: 0 };
      let correct = 0;
      for (let i = 0; i < 200; i++) {
        // A confident model: most probabilities near 1, a tail down to 0.3.
        const c = 1 - 0.7 * random() ** 4;
        addCalibrated(s, c);
        if (random() < c) correct += 1;
      }
      const e = expectedAccuracy(s, 0.95)!;
      if (correct / 200 >= e.low && correct / 200 <= e.high) covered += 1;
    }
    // 3 binomial standard deviations around 0.95 over 4000 windows: ±0.010.
    expect(covered / windows).toBeGreaterThan(0.935);
    expect(covered / windows).toBeLessThan(0.965);
  });
});

describe('label-free accuracy in the drift monitor', () => {
  const calibrated = (name: string): ModelCalibration | undefined => (name === 'digits' ? { temperature: 2, num_classes: 4 } : undefined);
  const top = (p: number[]) => p.map((score, index) => ({ index, label: `class-${index}`, score }));

  it('reports the mean calibrated probability per window, in the report, on /metrics and on the dashboard', async () => {
    const ctx: DriftContext = { config: driftConfig({ window: { policy: { kind: 'count', size: 4 } } }), referenceFor: withReference, calibrationFor: calibrated };
    const state = createDriftState();
    const scores = [[0.7, 0.2, 0.1, 0], [0.9, 0.05, 0.03, 0.02], [0.4, 0.3, 0.2, 0.1], [0.97, 0.01, 0.01, 0.01]];
    const closed = scores.flatMap((p, i) => applyPrediction(state, prediction({ request_id: `r${i}`, predicted_at: T0 + i, confidence: p[0]!, top_k: top(p) }), ctx));
    expect(closed).toHaveLength(1);
    const expected = scores.map((p) => calibratedTopProbability(p, { temperature: 2, num_classes: 4 })!);
    const mean = expected.reduce((a, b) => a + b, 0) / 4;
    const w = closed[0]!;
    expect(w.expected_accuracy).toBeCloseTo(mean, 12);
    expect(w.calibrated_count).toBe(4);
    expect(w.expected_accuracy_ci_low!).toBeLessThan(mean);
    expect(w.expected_accuracy_ci_high!).toBeGreaterThan(mean);
    expect(w.reference_source).toBe('manifest: test');
    expect(w.reference_samples).toBe(1000);

    const registry = new Registry();
    const metrics = createDriftMetrics(registry, () => state);
    recordWindow(metrics, w);
    const text = await registry.metrics();
    expect(text).toContain(`drift_expected_accuracy_ratio{model_name="digits",model_version="1",variant="served",experiment="",bound="estimate"} ${mean}`);
    expect(text).toMatch(/drift_expected_accuracy_ratio\{[^}]*bound="low"\}/);
    expect(text).toContain('drift_reference_samples{model_name="digits",model_version="1",variant="served",experiment="",source="manifest"} 1000');

    const html = renderDashboard(buildDashboardState(state, ctx, T0), { ok: true, text: 'ok' });
    expect(html.streams).toContain(`${(mean * 100).toFixed(1)}%`);
    expect(html['accuracy-chart']).toContain('data-kind="expected"');
    // Drawn apart from the measured accuracy's Wilson bars (errorbar), three lines of its own.
    expect((html['accuracy-chart'] ?? '').match(/class="expected-errorbar"/g)).toHaveLength(3);
    expect(html['accuracy-chart']).not.toContain('class="errorbar"');
  });

  it('marks the estimate of a window whose inputs or outputs drifted', () => {
    const ctx: DriftContext = { config: driftConfig({ window: { policy: { kind: 'count', size: 4 } } }), referenceFor: withReference, calibrationFor: calibrated };
    const state = createDriftState();
    // Brightness far outside the reference's middle bins: significant PSI.
    for (let i = 0; i < 4; i++) applyPrediction(state, prediction({ request_id: `d${i}`, predicted_at: T0 + i, brightness: 0.02, top_k: top([0.9, 0.05, 0.03, 0.02]) }), ctx);
    const dashboard = buildDashboardState(state, ctx, T0);
    expect(dashboard.streams[0]!.expected_accuracy?.traffic_drifted).toBe(true);
    expect(renderDashboard(dashboard, { ok: true, text: 'ok' }).streams).toContain('data-testid="estimate-unreliable"');

    // Inputs as the reference's middle bin, but every prediction one class at low confidence: the outputs drifted.
    const outputs = createDriftState();
    for (let i = 0; i < 4; i++) applyPrediction(outputs, prediction({ request_id: `o${i}`, predicted_at: T0 + i, predicted_index: 3, confidence: 0.3, top_k: top([0.3, 0.25, 0.25, 0.2]) }), ctx);
    const outputsDrifted = buildDashboardState(outputs, ctx, T0).streams[0]!.expected_accuracy;
    expect(outputsDrifted?.traffic_drifted).toBe(true);

    // Brightness and contrast spread exactly as the reference's 10/20/40/20/10 %, classes as its 40/30/20/10 %,
    // confidence near its spread: no significant PSI, no mark.
    const steady: DriftContext = { ...ctx, config: driftConfig({ window: { policy: { kind: 'count', size: 20 } } }) };
    const calm = createDriftState();
    const classes = [0, 0, 0, 0, 1, 1, 1, 2, 2, 3].flatMap((c) => [c, c]);
    const confidences = [...Array<number>(16).fill(0.9), 0.7, 0.7, 0.5, 0.3];
    [0, 1, 1, 2, 2, 2, 2, 3, 3, 4].flatMap((b) => [b, b]).forEach((bin, i) => applyPrediction(calm, prediction({
      request_id: `c${i}`, predicted_at: T0 + i, brightness: 0.1 + 0.2 * bin, contrast: 0.05 + 0.1 * bin,
      predicted_index: classes[i], confidence: confidences[i], top_k: top([confidences[i]!, 0.05, 0.03, 0.02]),
    }), steady));
    const quiet = buildDashboardState(calm, steady, T0);
    expect(quiet.streams[0]!.expected_accuracy?.traffic_drifted).toBe(false);
    expect(renderDashboard(quiet, { ok: true, text: 'ok' }).streams).not.toContain('estimate-unreliable');
  });

  it('estimates nothing for a model without a calibration', () => {
    const ctx: DriftContext = { config: driftConfig({ window: { policy: { kind: 'count', size: 2 } } }), referenceFor: withReference };
    const state = createDriftState();
    const closed = [0, 1].flatMap((i) => applyPrediction(state, prediction({ request_id: `r${i}`, predicted_at: T0 + i }), ctx));
    expect(closed[0]!.expected_accuracy).toBeNull();
    expect(closed[0]!.calibrated_count).toBe(0);
  });

  it('says when the reference was learned from live traffic, and from how many predictions', () => {
    const ctx: DriftContext = { config: driftConfig({ window: { policy: { kind: 'count', size: 5 }, warmupMinCount: 10 } }), referenceFor: noReference };
    const state = createDriftState();
    const closed = Array.from({ length: 15 }, (_, i) => applyPrediction(state, prediction({ request_id: `r${i}`, predicted_at: T0 + i }), ctx)).flat();
    expect(closed.map((w) => w.reference_source)).toEqual([null, null, 'learned from the first 10 live predictions of this model version (its manifest has no reference)']);
    expect(closed[2]!.reference_samples).toBe(10);
    const dashboard = buildDashboardState(state, ctx, T0);
    expect(dashboard.streams[0]!.reference_text).toBe('learned from the first 10 live predictions of this model version (its manifest has no reference)');
    expect(renderDashboard(dashboard, { ok: true, text: 'ok' }).streams).toContain('learned from the first 10 live predictions');

    const warming = createDriftState();
    applyPrediction(warming, prediction({ request_id: 'w0', predicted_at: T0 }), ctx);
    for (let i = 1; i < 5; i++) applyPrediction(warming, prediction({ request_id: `w${i}`, predicted_at: T0 + i }), ctx);
    expect(buildDashboardState(warming, ctx, T0).streams[0]!.reference_text).toBe('warming up: 5 of 10 live predictions (the manifest has no reference)');
  });
});
