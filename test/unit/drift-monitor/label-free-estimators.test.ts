/**
 * The other label-free estimators of drift-monitor/analytics/label-free.ts (compared with the mean calibrated
 * probability by drift-monitor/evaluation/label-free.ts): the calibrated distribution and its negative entropy
 * from top-k scores, Difference of Confidences, and Average Thresholded Confidence on either score, and what a
 * manifest's calibration gives them.
 */
import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import {
  calibratedDistribution, calibratedTopProbability, calibrationOf, estimate, negativeEntropy, predictionScores, type ModelCalibration, type PredictionScores,
} from '../../../drift-monitor/analytics/label-free.ts';
import { parseManifestJson } from '../../../models/loader/parse-manifest.ts';

function softmax(z: number[], t = 1): number[] {
  const m = Math.max(...z);
  const e = z.map((x) => Math.exp((x - m) / t));
  const s = e.reduce((a, b) => a + b, 0);
  return e.map((x) => x / s);
}

const LOGITS = [4.1, 2.3, 1.9, 0.4, -0.2, -1, -1.5, -2, -2.2, -3];
const entropyOf = (q: number[]): number => q.reduce((a, x) => a + (x > 0 ? x * Math.log(x) : 0), 0);
const scores = (pairs: [number, number][]): PredictionScores[] => pairs.map(([probability, negative_entropy]) => ({ probability, negative_entropy }));

describe('calibratedDistribution and negativeEntropy', () => {
  it('is softmax(logits / T) when every score travels, and its top-1 is calibratedTopProbability', () => {
    const c: ModelCalibration = { temperature: 1.3, num_classes: 10 };
    const d = calibratedDistribution(softmax(LOGITS), c)!;
    const exact = softmax(LOGITS, 1.3);
    d.top.forEach((q, i) => expect(q).toBeCloseTo(exact[i]!, 12));
    expect(d.missing).toBe(0);
    expect(d.top[0]).toBe(calibratedTopProbability(softmax(LOGITS), c));
    expect(negativeEntropy(d)).toBeCloseTo(entropyOf(exact), 12);
  });

  it('with the top 5 of 10 scores, sums to 1 with the rest shared evenly, and the entropy is close to the exact one', () => {
    const c: ModelCalibration = { temperature: 0.9, num_classes: 10 };
    const d = calibratedDistribution(softmax(LOGITS).slice(0, 5), c)!;
    expect(d.missing).toBe(5);
    expect(d.top.reduce((a, b) => a + b, 0) + d.missing * d.missing_each).toBeCloseTo(1, 12);
    // The even split spreads the tail's mass as widely as it can: the entropy is at least the exact one, and close.
    const exact = entropyOf(softmax(LOGITS, 0.9));
    expect(negativeEntropy(d)).toBeLessThanOrEqual(exact + 1e-12);
    expect(negativeEntropy(d)).toBeGreaterThan(exact - 0.02);
  });

  it('is 0 for a certain prediction and −log(classes) for a uniform one, and null for scores that are not probabilities', () => {
    const c: ModelCalibration = { temperature: 1.1, num_classes: 10 };
    expect(negativeEntropy(calibratedDistribution([1, 0, 0, 0, 0], c)!)).toBe(0);
    expect(negativeEntropy(calibratedDistribution([0.1, 0.1, 0.1, 0.1, 0.1], c)!)).toBeCloseTo(-Math.log(10), 12);
    expect(predictionScores([1.2, 0.1], c)).toBeNull();
    expect(predictionScores([], c)).toBeNull();
  });
});

describe('estimate', () => {
  const c: ModelCalibration = { temperature: 1, num_classes: 10, atc_max_probability_threshold: 0.6, atc_negative_entropy_threshold: -0.8, doc_offset: 0.01 };
  const window = scores([[0.95, -0.2], [0.6, -0.5], [0.55, -1.2], [0.9, -0.9]]);

  it('ATC is the share of predictions whose score is strictly above the threshold', () => {
    // 0.6 equals the threshold and is not above it.
    expect(estimate(window, c, 'atc_max_probability')).toBe(0.5);
    expect(estimate(window, c, 'atc_negative_entropy')).toBe(0.5);
    expect(estimate(scores([[0.99, -0.01]]), c, 'atc_negative_entropy')).toBe(1);
  });

  it('the mean calibrated probability, and DoC shifting it by the validation gap, within [0, 1]', () => {
    expect(estimate(window, c, 'mean_probability')).toBeCloseTo(0.75, 12);
    expect(estimate(window, c, 'doc')).toBeCloseTo(0.76, 12);
    expect(estimate(scores([[0.995, 0]]), c, 'doc')).toBe(1);
  });

  it('is null without predictions, and for an older calibration without thresholds or DoC offset', () => {
    const old: ModelCalibration = { temperature: 1.05, num_classes: 10 };
    expect(estimate([], c, 'atc_max_probability')).toBeNull();
    for (const e of ['doc', 'atc_max_probability', 'atc_negative_entropy'] as const) expect(estimate(window, old, e)).toBeNull();
    expect(estimate(window, old, 'mean_probability')).toBeCloseTo(0.75, 12);
  });
});

describe('calibrationOf', () => {
  it('gives the committed Fashion-MNIST models their temperature, ATC thresholds and DoC offset', () => {
    for (const version of ['v1', 'v2', 'v2-int8']) {
      const path = new URL(`../../../models/fashion-mnist/${version}/manifest.json`, import.meta.url);
      const manifest = parseManifestJson(readFileSync(path, 'utf8'), path.pathname);
      const c = calibrationOf(manifest)!;
      expect(c.temperature).toBe(manifest.calibration!.temperature);
      expect(c.num_classes).toBe(10);
      // A top-1 probability threshold below 1/10 or an entropy threshold at −log 10 would count every prediction.
      expect(c.atc_max_probability_threshold).toBeGreaterThan(0.1);
      expect(c.atc_max_probability_threshold).toBeLessThan(1);
      expect(c.atc_negative_entropy_threshold).toBeGreaterThan(-Math.log(10));
      expect(c.atc_negative_entropy_threshold).toBeLessThan(0);
      expect(c.doc_offset).toBeCloseTo(manifest.calibration!.validation_accuracy! - manifest.calibration!.validation_mean_probability!, 12);
      expect(Math.abs(c.doc_offset!)).toBeLessThan(0.01);
    }
  });

  it('gives an older calibration its temperature only, and no manifest calibration nothing', () => {
    const path = new URL('../../../models/fashion-mnist/v2/manifest.json', import.meta.url);
    const manifest = parseManifestJson(readFileSync(path, 'utf8'), path.pathname);
    const { method, temperature, source, samples } = manifest.calibration!;
    expect(calibrationOf({ ...manifest, calibration: { method, temperature, source, samples } })).toEqual({ temperature, num_classes: 10 });
    expect(calibrationOf({ ...manifest, calibration: undefined })).toBeUndefined();
  });
});
