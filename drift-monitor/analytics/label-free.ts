/**
 * Label-free accuracy: confidence-based performance estimation from calibrated probabilities. Pure.
 *
 * A model version whose manifest carries a temperature T (models/manifest.ts `calibration`) has its top-1
 * probability recalibrated per prediction; the mean of those over a window is the accuracy the window's
 * predictions are expected to have. If calibration transfers to the live traffic (P(correct | calibrated
 * probability c) = c), each prediction is right with probability cᵢ independently, so the window's accuracy
 * has mean Σcᵢ / n and variance Σcᵢ(1 − cᵢ) / n²; the interval is that normal interval. It says nothing about
 * whether calibration transfers: under label shift (other class proportions) or concept shift (the same inputs
 * meaning other classes) it does not, and the estimate can be off by more than the interval
 * (drift-monitor/evaluation/label-free.ts measures by how much on shifted Fashion-MNIST test sets).
 *
 * The scores in a Prediction are probabilities already (the consumer applies softmax to logits,
 * models/runtime/run-batch.ts), and only the top k travel. softmax(z / T) from probabilities p = softmax(z) is
 * pᵢ^(1/T) / Σⱼ pⱼ^(1/T); the classes outside the top k share the mass 1 − Σ top-k, each at most the k-th score,
 * and are taken as sharing it evenly (exact when at most one class is missing; for T > 1 the even split gives the
 * lowest calibrated top-1 possible, for T < 1 the highest).
 */
import { normalQuantile } from './stats.ts';

/**
 * PSI metrics of the inputs themselves: when one is significant the images changed, and that is where the
 * estimate was furthest off on shifted test images (dark, noise, blur); the dashboard marks such windows and the
 * rollout guard's label-free test leaves them out.
 */
export const INPUT_DRIFT_METRICS: readonly string[] = ['brightness', 'contrast'];

/** Whether a window's input metrics drifted significantly. */
export function inputsDrifted(significantMetrics: readonly string[]): boolean {
  return significantMetrics.some((m) => INPUT_DRIFT_METRICS.includes(m));
}

/** What the estimate needs of a model's manifest. */
export interface ModelCalibration {
  temperature: number;
  num_classes: number;
}

/** The calibration of a model version; undefined when its manifest has none (no estimate then). */
export type CalibrationLookup = (modelName: string, modelVersion: string) => ModelCalibration | undefined;

/**
 * Calibrated top-1 probability from the top-k probabilities (best first) of a `numClasses`-way softmax; null
 * when the scores are not probabilities (negative, above 1, not finite, or none).
 */
export function calibratedTopProbability(topScores: readonly number[], c: ModelCalibration): number | null {
  const k = Math.min(topScores.length, c.num_classes);
  if (k === 0 || !(c.temperature > 0)) return null;
  let total = 0;
  for (let i = 0; i < k; i++) {
    const p = topScores[i]!;
    if (!(Number.isFinite(p) && p >= 0 && p <= 1)) return null;
    total += p;
  }
  const best = topScores[0]!;
  if (!(best > 0)) return null;
  const beta = 1 / c.temperature;
  // Scaled by the best score, so pᵢ^β never underflows for the terms that matter.
  const term = (p: number): number => (p > 0 ? Math.exp(beta * Math.log(p / best)) : 0);
  let denominator = 0;
  for (let i = 0; i < k; i++) denominator += term(topScores[i]!);
  const missing = c.num_classes - k;
  const rest = Math.max(0, 1 - total);
  if (missing > 0 && rest > 0) denominator += missing * term(Math.min(rest / missing, topScores[k - 1]!));
  return 1 / denominator;
}

/** Running sums of one window's calibrated top-1 probabilities. */
export interface CalibratedSums {
  count: number;
  sum: number;
  squares: number;
}

export function addCalibrated(s: CalibratedSums, c: number): void {
  s.count += 1;
  s.sum += c;
  s.squares += c * c;
}

export interface ExpectedAccuracy {
  /** Mean calibrated top-1 probability. */
  estimate: number;
  /** Two-sided interval for the accuracy of these predictions if calibration transfers. */
  low: number;
  high: number;
  /** Predictions it is the mean of. */
  count: number;
  /** Mean of the squared probabilities: with count and estimate, windows combine into a variance. */
  square_mean: number;
}

export function expectedAccuracy(s: CalibratedSums, confidence: number): ExpectedAccuracy | null {
  if (s.count === 0) return null;
  const estimate = s.sum / s.count;
  // Σc(1 − c) = Σc − Σc²; rounding can leave it a hair below 0.
  const variance = Math.max(0, s.sum - s.squares) / (s.count * s.count);
  const half = normalQuantile(1 - (1 - confidence) / 2) * Math.sqrt(variance);
  return { estimate, low: Math.max(0, estimate - half), high: Math.min(1, estimate + half), count: s.count, square_mean: s.squares / s.count };
}
