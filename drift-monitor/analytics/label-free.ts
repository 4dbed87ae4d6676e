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
 * Where the manifest's calibration also has a correctness model (models/training/correctness.py) and the prediction
 * carries its image's quality features (input_stats.quality), cᵢ is that model's P(correct) instead: fitted on the
 * validation split under a randomized covariate-shift suite, it keeps v2 within 3 points under the noise and blur
 * that leave its confidence high (README, "Accuracy without labels"); not under concept shift, nor, reliably, under
 * kinds of input change the suite did not contain.
 *
 * The scores in a Prediction are probabilities already (the consumer applies softmax to logits,
 * models/runtime/run-batch.ts), and only the top k travel. softmax(z / T) from probabilities p = softmax(z) is
 * pᵢ^(1/T) / Σⱼ pⱼ^(1/T); the classes outside the top k share the mass 1 − Σ top-k, each at most the k-th score,
 * and are taken as sharing it evenly (exact when at most one class is missing; for T > 1 the even split gives the
 * lowest calibrated top-1 possible, for T < 1 the highest).
 */
import type { CorrectnessFeature, CorrectnessModel, ModelManifest } from '../../models/manifest.ts';
import type { ImageQuality } from '../../models/runtime/preprocess/image-quality.ts';
import { normalQuantile } from './stats.ts';

/**
 * PSI metrics of the inputs themselves: when one is significant the images changed, and that is where the
 * estimate was furthest off on shifted test images (dark, noise, blur).
 */
export const INPUT_DRIFT_METRICS: readonly string[] = ['brightness', 'contrast'];

/**
 * PSI metrics of the model's outputs: on v2 under Gaussian noise sd 20 the estimate was 8 points high while
 * brightness and contrast looked unchanged in every window, and confidence or predicted class was significant
 * in all of them.
 */
export const OUTPUT_DRIFT_METRICS: readonly string[] = ['confidence', 'predicted_class'];

/**
 * Whether a window's traffic no longer looks like the data the calibration was fitted on (an input or output
 * metric drifted significantly): the dashboard marks such windows and the rollout guard's label-free test leaves
 * them out, since the estimate assumes the calibration transfers.
 */
export function trafficDrifted(significantMetrics: readonly string[]): boolean {
  return significantMetrics.some((m) => INPUT_DRIFT_METRICS.includes(m) || OUTPUT_DRIFT_METRICS.includes(m));
}

/** What the estimate needs of a model's manifest. */
export interface ModelCalibration {
  temperature: number;
  num_classes: number;
  /**
   * Average Thresholded Confidence (Garg et al., ICLR 2022): thresholds on the calibrated top-1 probability and
   * on the negative entropy of the calibrated distribution, each fitted on the validation split so that the
   * share of its predictions scoring above it equals its accuracy (absent in older manifests).
   */
  atc_max_probability_threshold?: number;
  atc_negative_entropy_threshold?: number;
  /** Validation accuracy minus the validation mean calibrated top-1 probability (Difference of Confidences). */
  doc_offset?: number;
  /**
   * Per-prediction correctness model (models/training/correctness.py): where the manifest has one, a prediction
   * that carries the image's quality features counts with P(correct) from it instead of its calibrated top-1
   * probability (v2 stays confident under noise and blur; the quality features see them).
   */
  correctness?: CorrectnessModel;
}

/** What a manifest's calibration gives the estimators; undefined without one. */
export function calibrationOf(manifest: ModelManifest): ModelCalibration | undefined {
  const c = manifest.calibration;
  if (!c) return undefined;
  const doc = c.validation_accuracy !== undefined && c.validation_mean_probability !== undefined ? { doc_offset: c.validation_accuracy - c.validation_mean_probability } : {};
  return {
    temperature: c.temperature,
    num_classes: manifest.output.num_classes,
    ...(c.atc_max_probability_threshold !== undefined ? { atc_max_probability_threshold: c.atc_max_probability_threshold } : {}),
    ...(c.atc_negative_entropy_threshold !== undefined ? { atc_negative_entropy_threshold: c.atc_negative_entropy_threshold } : {}),
    ...doc,
    ...(c.correctness ? { correctness: c.correctness } : {}),
  };
}

/** The calibration of a model version; undefined when its manifest has none (no estimate then). */
export type CalibrationLookup = (modelName: string, modelVersion: string) => ModelCalibration | undefined;

/** A calibrated distribution over all classes from the top-k scores. */
export interface CalibratedDistribution {
  /** Calibrated probabilities of the top k classes, best first. */
  top: number[];
  /** Classes outside the top k, and the calibrated probability each is taken to have. */
  missing: number;
  missing_each: number;
}

/**
 * The calibrated distribution from the top-k probabilities (best first) of a `numClasses`-way softmax; null
 * when the scores are not probabilities (negative, above 1, not finite, or none).
 */
export function calibratedDistribution(topScores: readonly number[], c: ModelCalibration): CalibratedDistribution | null {
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
  const terms = topScores.slice(0, k).map(term);
  let denominator = terms.reduce((a, b) => a + b, 0);
  const missing = c.num_classes - k;
  const rest = Math.max(0, 1 - total);
  const tail = missing > 0 && rest > 0 ? term(Math.min(rest / missing, topScores[k - 1]!)) : 0;
  denominator += missing * tail;
  return { top: terms.map((t) => t / denominator), missing, missing_each: tail / denominator };
}

/**
 * Calibrated top-1 probability from the top-k probabilities (best first) of a `numClasses`-way softmax; null
 * when the scores are not probabilities (negative, above 1, not finite, or none).
 */
export function calibratedTopProbability(topScores: readonly number[], c: ModelCalibration): number | null {
  return calibratedDistribution(topScores, c)?.top[0] ?? null;
}

/** Σ q log q of a calibrated distribution (0 for a certain prediction, −log(classes) for a uniform one). */
export function negativeEntropy(d: CalibratedDistribution): number {
  const plogp = (q: number): number => (q > 0 ? q * Math.log(q) : 0);
  return d.top.reduce((a, q) => a + plogp(q), 0) + d.missing * plogp(d.missing_each);
}

/** What a prediction says about its image: input_stats of the Prediction record. */
export interface ImageStats {
  brightness: number;
  contrast: number;
  /** Absent (or null) in predictions of consumers older than the feature. */
  quality?: ImageQuality | null;
}

const PROBABILITY_CLIP = 1e-6;

/** The correctness model's inputs (models/training/correctness.py model_features); null without quality features. */
export function correctnessFeatures(probability: number, stats: ImageStats): Record<CorrectnessFeature, number> | null {
  const q = stats.quality;
  if (!q) return null;
  const p = Math.min(1 - PROBABILITY_CLIP, Math.max(PROBABILITY_CLIP, probability));
  const f: Record<CorrectnessFeature, number> = {
    logit_probability: Math.log(p / (1 - p)),
    brightness: stats.brightness,
    contrast: stats.contrast,
    noise: q.noise,
    zero_fraction: q.zero_fraction,
    log_sharpness: Math.log(Math.max(q.sharpness, 1e-6)),
    log_blockiness: Math.log(q.blockiness),
    residual_median: q.residual_median,
    dark_nonzero: q.dark_nonzero,
    dark_step: q.dark_step,
  };
  return Object.values(f).every(Number.isFinite) ? f : null;
}

/** P(correct) under a correctness model: sigmoid(intercept + Σ terms + the predicted class's offset). */
export function correctnessProbability(model: CorrectnessModel, f: Record<CorrectnessFeature, number>, predictedIndex: number): number {
  let z = model.intercept + (model.class_offsets[predictedIndex] ?? 0);
  for (const t of model.terms) {
    let v = f[t.feature];
    if (t.hinge_at !== undefined) v = Math.max(0, v - t.hinge_at);
    if (t.times !== undefined) v *= f[t.times];
    z += t.coefficient * v;
  }
  return 1 / (1 + Math.exp(-Math.max(-30, Math.min(30, z))));
}

/**
 * What one prediction adds to its window's expected accuracy: P(correct) from the manifest's correctness model
 * when it has one and the prediction carries quality features, else the calibrated top-1 probability; null when
 * the scores are not probabilities.
 */
export function expectedCorrectness(topScores: readonly number[], predictedIndex: number, stats: ImageStats | undefined, c: ModelCalibration): number | null {
  const probability = calibratedTopProbability(topScores, c);
  if (probability === null) return null;
  return modelCorrectness(probability, predictedIndex, stats, c) ?? probability;
}

/** P(correct) from the calibration's correctness model; undefined without the model or the image's quality features. */
function modelCorrectness(probability: number, predictedIndex: number, stats: ImageStats | undefined, c: ModelCalibration): number | undefined {
  if (!c.correctness || !stats) return undefined;
  const f = correctnessFeatures(probability, stats);
  return f ? correctnessProbability(c.correctness, f, predictedIndex) : undefined;
}

/** The per-prediction scores the estimators use. */
export interface PredictionScores {
  /** Calibrated top-1 probability. */
  probability: number;
  negative_entropy: number;
  /** P(correct) from the manifest's correctness model; absent without one or without quality features. */
  correctness?: number;
}

export function predictionScores(topScores: readonly number[], c: ModelCalibration, image?: { predicted_index: number; stats: ImageStats }): PredictionScores | null {
  const d = calibratedDistribution(topScores, c);
  if (!d) return null;
  const correctness = image ? modelCorrectness(d.top[0]!, image.predicted_index, image.stats, c) : undefined;
  return { probability: d.top[0]!, negative_entropy: negativeEntropy(d), ...(correctness !== undefined ? { correctness } : {}) };
}

/** The label-free accuracy estimators compared by drift-monitor/evaluation/label-free.ts. */
export const ESTIMATORS = ['mean_probability', 'doc', 'atc_max_probability', 'atc_negative_entropy', 'correctness_model'] as const;
export type EstimatorName = (typeof ESTIMATORS)[number];

/**
 * The estimate of one estimator over a set of predictions' scores; null when the model's calibration lacks what
 * it needs (older manifests have no ATC thresholds or DoC offset) or there are no scores.
 * - mean_probability: mean calibrated top-1 probability (confidence-based performance estimation);
 * - doc: the same shifted by the validation gap between accuracy and mean probability;
 * - atc_*: the share of predictions whose score is above the validation-fitted threshold;
 * - correctness_model: mean P(correct) from the manifest's correctness model (null unless every score has it).
 */
export function estimate(scores: readonly PredictionScores[], c: ModelCalibration, estimator: EstimatorName): number | null {
  if (scores.length === 0) return null;
  const n = scores.length;
  switch (estimator) {
    case 'mean_probability':
      return scores.reduce((a, s) => a + s.probability, 0) / n;
    case 'doc':
      return c.doc_offset === undefined ? null : Math.min(1, Math.max(0, scores.reduce((a, s) => a + s.probability, 0) / n + c.doc_offset));
    case 'atc_max_probability': {
      const t = c.atc_max_probability_threshold;
      return t === undefined ? null : scores.filter((s) => s.probability > t).length / n;
    }
    case 'atc_negative_entropy': {
      const t = c.atc_negative_entropy_threshold;
      return t === undefined ? null : scores.filter((s) => s.negative_entropy > t).length / n;
    }
    case 'correctness_model':
      return scores.every((s) => s.correctness !== undefined) ? scores.reduce((a, s) => a + s.correctness!, 0) / n : null;
  }
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
