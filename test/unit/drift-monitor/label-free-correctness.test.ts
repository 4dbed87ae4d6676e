/**
 * The correctness model of drift-monitor/analytics/label-free.ts: P(correct) from the calibrated top-1 probability
 * and the image's quality features, with a manifest's coefficients; predictions without quality features (older
 * consumers) and manifests without the model keep the mean calibrated probability.
 */
import { describe, expect, it } from 'vitest';
import { applyPrediction, createDriftState, driftConfig, type DriftContext } from '../../../drift-monitor/analytics/drift-state.ts';
import {
  calibratedTopProbability, calibrationOf, correctnessFeatures, correctnessProbability, estimate, expectedCorrectness, predictionScores, type ModelCalibration,
} from '../../../drift-monitor/analytics/label-free.ts';
import type { CorrectnessModel } from '../../../models/manifest.ts';
import type { ImageQuality } from '../../../models/runtime/preprocess/image-quality.ts';
import { validManifest } from '../inference/fixtures.ts';
import { prediction, T0 } from './fixtures.ts';

const QUALITY: ImageQuality = { noise: 0.03, residual_median: 0.02, zero_fraction: 0.5, sharpness: 2.7, blockiness: 1, dark_nonzero: 0.1, dark_step: 0.01 };
const NOISY: ImageQuality = { ...QUALITY, noise: 0.12, residual_median: 0.4, zero_fraction: 0.27, sharpness: 4, dark_nonzero: 0.5, dark_step: 0.08 };
const MODEL: CorrectnessModel = {
  method: 'logistic', features: ['logit_probability', 'noise', 'dark_step'], intercept: 0.5,
  terms: [
    { feature: 'logit_probability', coefficient: 1 },
    { feature: 'dark_step', hinge_at: 0.03, coefficient: -60 },
    { feature: 'noise', times: 'logit_probability', coefficient: -2 },
  ],
  class_offsets: [0, 0, 0, 0, 0, 0, -1, 0, 0, 0],
};
const TOP = [0.9, 0.05, 0.02, 0.01, 0.01];
const C: ModelCalibration = { temperature: 1, num_classes: 10, correctness: MODEL };
const sigmoid = (z: number): number => 1 / (1 + Math.exp(-z));
const logit = (p: number): number => Math.log(p / (1 - p));

describe('correctness model', () => {
  it('is sigmoid(intercept + terms + class offset) of the features', () => {
    const p = calibratedTopProbability(TOP, C)!;
    const f = correctnessFeatures(p, { brightness: 0.3, contrast: 0.3, quality: NOISY })!;
    expect(f.logit_probability).toBeCloseTo(logit(p), 12);
    expect(f.log_sharpness).toBeCloseTo(Math.log(4), 12);
    const z = 0.5 + logit(p) - 60 * (0.08 - 0.03) - 2 * 0.12 * logit(p);
    expect(correctnessProbability(MODEL, f, 0)).toBeCloseTo(sigmoid(z), 12);
    expect(correctnessProbability(MODEL, f, 6)).toBeCloseTo(sigmoid(z - 1), 12);
    // Clean image: the hinge is off, and the noise term is smaller.
    const clean = correctnessFeatures(p, { brightness: 0.3, contrast: 0.3, quality: QUALITY })!;
    expect(correctnessProbability(MODEL, clean, 0)).toBeCloseTo(sigmoid(0.5 + logit(p) - 2 * 0.03 * logit(p)), 12);
  });

  it('expectedCorrectness falls back to the calibrated probability without quality features or without the model', () => {
    const p = calibratedTopProbability(TOP, C)!;
    expect(expectedCorrectness(TOP, 0, { brightness: 0.3, contrast: 0.3 }, C)).toBe(p);
    expect(expectedCorrectness(TOP, 0, { brightness: 0.3, contrast: 0.3, quality: null }, C)).toBe(p);
    expect(expectedCorrectness(TOP, 0, { brightness: 0.3, contrast: 0.3, quality: NOISY }, { temperature: 1, num_classes: 10 })).toBe(p);
    expect(expectedCorrectness(TOP, 0, { brightness: 0.3, contrast: 0.3, quality: NOISY }, C)).toBeLessThan(p - 0.2);
    expect(expectedCorrectness([], 0, { brightness: 0.3, contrast: 0.3, quality: NOISY }, C)).toBeNull();
  });

  it('is the correctness_model estimator when every score has it, and absent from the manifest keeps the old estimate', () => {
    const stats = { brightness: 0.3, contrast: 0.3, quality: NOISY };
    const s = predictionScores(TOP, C, { predicted_index: 0, stats })!;
    expect(s.correctness).toBe(expectedCorrectness(TOP, 0, stats, C));
    expect(estimate([s, s], C, 'correctness_model')).toBe(s.correctness);
    expect(estimate([s, predictionScores(TOP, C)!], C, 'correctness_model')).toBeNull();
    const manifest = validManifest({ calibration: { method: 'temperature', temperature: 1.1, source: 'x', samples: 10, correctness: MODEL } });
    expect(calibrationOf(manifest)?.correctness).toEqual(MODEL);
    expect(calibrationOf(validManifest({ calibration: { method: 'temperature', temperature: 1.1, source: 'x', samples: 10 } }))?.correctness).toBeUndefined();
  });

  it('feeds the window expected accuracy in the drift state', () => {
    const ctx = (c: ModelCalibration): DriftContext => ({
      config: driftConfig({ window: { policy: { kind: 'count', size: 2 } } }), referenceFor: () => undefined, calibrationFor: () => c,
    });
    const run = (c: ModelCalibration): number => {
      const state = createDriftState();
      const input = (i: number) => ({ ...prediction({ request_id: `r${i}`, predicted_at: T0 + i, confidence: 0.9 }), top_k: TOP.map((score) => ({ score })), predicted_index: 0 });
      const reports = [0, 1].flatMap((i) => applyPrediction(state, { ...input(i), input_stats: { ...input(i).input_stats, quality: NOISY } }, ctx(c)));
      return reports[0]!.expected_accuracy!;
    };
    expect(run({ temperature: 1, num_classes: 10 })).toBeCloseTo(calibratedTopProbability(TOP, C)!, 12);
    expect(run(C)).toBeCloseTo(expectedCorrectness(TOP, 0, { brightness: 0.45, contrast: 0.22, quality: NOISY }, C)!, 12);
    expect(run(C)).toBeLessThan(calibratedTopProbability(TOP, C)! - 0.2);
  });
});
