/**
 * Drift references from a model's own predictions on sample images, in the manifest's format and with the
 * same construction as models/training/reference.py: decile edges rounded for readability, empty bins merged,
 * shares per bin. Pure.
 */
import type { HistogramReference, ModelManifest } from '../manifest.ts';

export interface ScoredSample {
  /** Predicted class index and its score (the top-1 confidence). */
  index: number;
  confidence: number;
  /** Input statistics of the preprocessed image, as serving reports them. */
  brightness: number;
  contrast: number;
}

const EDGE_DECIMALS = 4;
// Confidences of a confident model crowd within 1e-3 of 1: finer edges there, but below 1 at float32 spacing.
const CONFIDENCE_EDGE_DECIMALS = 6;
const MAX_INNER_CONFIDENCE_EDGE = 0.999999;

const round = (v: number, decimals: number): number => Math.round(v * 10 ** decimals) / 10 ** decimals;

/** numpy.quantile's default (linear interpolation between the closest ranks) of sorted values. */
export function quantileOfSorted(sorted: readonly number[], q: number): number {
  const position = q * (sorted.length - 1);
  const lo = Math.floor(position);
  const hi = Math.min(lo + 1, sorted.length - 1);
  return sorted[lo]! + (sorted[hi]! - sorted[lo]!) * (position - lo);
}

function binOf(value: number, edges: readonly number[]): number {
  let i = 0;
  while (i < edges.length - 2 && value >= edges[i + 1]!) i++;
  return i;
}

function counts(values: readonly number[], edges: readonly number[]): number[] {
  const out = new Array<number>(edges.length - 1).fill(0);
  for (const v of values) out[binOf(v, edges)]! += 1;
  return out;
}

export function histogram(values: readonly number[], decimals = EDGE_DECIMALS, maxInner = 1, bins = 10): HistogramReference {
  if (values.length === 0) throw new RangeError('histogram of no values');
  const sorted = [...values].sort((a, b) => a - b);
  const inner = new Set<number>();
  for (let k = 1; k < bins; k++) {
    const e = round(quantileOfSorted(sorted, k / bins), decimals);
    if (e > 0 && e < 1 && e <= maxInner) inner.add(e);
  }
  const edges = [0, ...[...inner].sort((a, b) => a - b), 1];
  // Drop the upper edge of each empty bin (the lower edge of the last one) so every bin holds mass.
  for (;;) {
    const empty = counts(sorted, edges).indexOf(0);
    if (empty < 0 || edges.length <= 2) break;
    edges.splice(empty + 1 < edges.length - 1 ? empty + 1 : empty, 1);
  }
  const c = counts(sorted, edges);
  return { edges, probabilities: c.map((n) => n / sorted.length) };
}

export function buildReference(samples: readonly ScoredSample[], numClasses: number, source: string): NonNullable<ModelManifest['reference']> {
  const classes = new Array<number>(numClasses).fill(0);
  for (const s of samples) classes[s.index]! += 1;
  return {
    source,
    samples: samples.length,
    predicted_class: { probabilities: classes.map((n) => n / samples.length) },
    // Confidence reaches the drift monitor as an Avro float: binned at float32 precision here too.
    confidence: histogram(samples.map((s) => Math.fround(s.confidence)), CONFIDENCE_EDGE_DECIMALS, MAX_INNER_CONFIDENCE_EDGE),
    brightness: histogram(samples.map((s) => s.brightness)),
    contrast: histogram(samples.map((s) => s.contrast)),
  };
}
