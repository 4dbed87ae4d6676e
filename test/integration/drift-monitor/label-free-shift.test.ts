/**
 * The label-free accuracy estimate on shifted Fashion-MNIST test images, through the real serving path
 * (models/runtime) and the drift monitor's analytics (drift-monitor/evaluation/label-free.ts; the full table is
 * `npx tsx drift-monitor/evaluation/label-free.ts`). Bounded: 3,000 images in all, a few seconds. Needs no
 * stack; it is here because it runs ONNX Runtime on the committed models and reads Debian's Fashion-MNIST.
 *
 * Pinned: where calibration transfers (v1 on darkened images) the estimate is within the 3-point goal of the
 * true accuracy; where it does not (v2 under Gaussian noise, an overconfident failure) the mean calibrated
 * probability is far too high, and so are the other confidence-based estimators (Difference of Confidences,
 * Average Thresholded Confidence), while the drift monitor's estimate, from the manifest's correctness model on
 * the images' quality features, stays close; the input PSI is significant in every window there. Under milder
 * noise (sd 20) no input PSI flags a window: only the output metrics' PSI shows the shift, which is why the guard
 * and the dashboard use both (trafficDrifted). The full-set goal is pinned in test/unit/drift-monitor/label-free-goal.test.ts.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { evaluateShift, loadTestSet, serveModel, type ServedModel } from '../../../drift-monitor/evaluation/label-free.ts';
import type { TestImages } from '../../../drift-monitor/evaluation/shifts.ts';

let set: TestImages;
const models: ServedModel[] = [];

beforeAll(async () => {
  set = await loadTestSet();
});

afterAll(async () => {
  for (const m of models) await m.release();
});

describe('label-free accuracy on shifted test images (real serving path and estimator)', () => {
  it('v1 on darkened images: the estimate is within 3 points of the true accuracy, window by window as well', async () => {
    const v1 = await serveModel('v1');
    models.push(v1);
    const r = await evaluateShift(v1, set, 'dark', { limit: 2000, window: 500 });
    expect(r.images).toBe(2000);
    expect(r.windows).toHaveLength(4);
    expect(Math.abs(r.error_points)).toBeLessThanOrEqual(3);
    // The estimate is the correctness model's, not the raw confidence.
    expect(r.expected_accuracy).not.toBe(r.mean_confidence);
    expect(r.expected_accuracy).toBeCloseTo(r.estimators.correctness_model!.estimate, 3);
    for (const w of r.windows) expect(Math.abs(w.expected - w.measured)).toBeLessThan(0.06);
  });

  it('v2 under Gaussian noise: calibration does not transfer and the confidence-based estimators are far too high; the correctness model is not', async () => {
    const v2 = await serveModel('v2');
    models.push(v2);
    const r = await evaluateShift(v2, set, 'noise', { limit: 1000, window: 500 });
    expect(Math.abs(r.error_points)).toBeLessThan(5);
    expect(r.windows_with_input_drift).toBe(1);
    // ATC on negative entropy, the closest of them, was still 19 points high on the full set.
    for (const name of ['mean_probability', 'doc', 'atc_max_probability', 'atc_negative_entropy'] as const) expect(r.estimators[name]!.error_points).toBeGreaterThan(10);
  });

  it('v2 under milder noise (sd 20): the mean calibrated probability is too high while input PSI flags no window; confidence or predicted-class PSI flags them', async () => {
    const v2 = await serveModel('v2');
    models.push(v2);
    const r = await evaluateShift(v2, set, 'noise-20', { limit: 1000, window: 500 });
    expect(r.estimators.mean_probability!.error_points).toBeGreaterThan(4);
    expect(Math.abs(r.error_points)).toBeLessThan(5);
    expect(r.windows_with_input_drift).toBe(0);
    expect(r.windows_with_output_drift).toBe(1);
    expect(r.windows_with_traffic_drift).toBe(1);
  });
});
