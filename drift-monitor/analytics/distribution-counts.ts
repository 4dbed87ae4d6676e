import { addClassCount, addToBins, emptyBins, sameEdges, type BinnedCounts } from './histogram.ts';
import type { PredictionInput } from './events.ts';

/** The per-prediction quantities whose distributions are compared by PSI. */
export const HISTOGRAM_METRICS = ['confidence', 'brightness', 'contrast'] as const;
export type HistogramMetric = (typeof HISTOGRAM_METRICS)[number];
export type HistogramEdges = Record<HistogramMetric, number[]>;

/** Counts of a set of predictions, the shape shared by a window and a warm-up baseline. */
export interface DistributionCounts {
  count: number;
  /** Predictions per predicted class index. */
  classCounts: number[];
  histograms: Record<HistogramMetric, BinnedCounts>;
}

export function emptyDistribution(edges: HistogramEdges, numClasses: number): DistributionCounts {
  return {
    count: 0,
    classCounts: new Array<number>(numClasses).fill(0),
    histograms: {
      confidence: emptyBins(edges.confidence),
      brightness: emptyBins(edges.brightness),
      contrast: emptyBins(edges.contrast),
    },
  };
}

export function addPredictionCounts(d: DistributionCounts, p: PredictionInput): void {
  d.count += 1;
  addClassCount(d.classCounts, p.predicted_index);
  addToBins(d.histograms.confidence, p.confidence);
  addToBins(d.histograms.brightness, p.input_stats.brightness);
  addToBins(d.histograms.contrast, p.input_stats.contrast);
}

/**
 * Adds `from` into `into`. A histogram counted against other edges cannot be combined bin by bin and is left
 * out (only possible when the edges configuration changed between the two).
 */
export function mergeDistribution(into: DistributionCounts, from: DistributionCounts): void {
  into.count += from.count;
  from.classCounts.forEach((n, i) => {
    while (into.classCounts.length <= i) into.classCounts.push(0);
    into.classCounts[i]! += n;
  });
  for (const metric of HISTOGRAM_METRICS) {
    const target = into.histograms[metric];
    const source = from.histograms[metric];
    if (!sameEdges(target.edges, source.edges)) continue;
    source.counts.forEach((n, i) => {
      target.counts[i]! += n;
    });
  }
}

export function edgesOf(d: DistributionCounts): HistogramEdges {
  return {
    confidence: [...d.histograms.confidence.edges],
    brightness: [...d.histograms.brightness.edges],
    contrast: [...d.histograms.contrast.edges],
  };
}
