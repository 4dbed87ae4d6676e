import type { HistogramReference, ManifestReference } from '../../models/manifest.ts';
import {
  emptyDistribution,
  mergeDistribution,
  type DistributionCounts,
  type HistogramEdges,
  type HistogramMetric,
} from './distribution-counts.ts';

/** What the drift monitor needs from a model's manifest (one that carries a reference). */
export interface ModelReference {
  labels: string[];
  reference: ManifestReference;
}

/** Finds the manifest reference of a model version; undefined when the model ships none (warm-up applies). */
export type ReferenceLookup = (modelName: string, modelVersion: string) => ModelReference | undefined;

export type ReferenceKind = 'manifest' | 'warmup';

/** The distributions a window is compared against, whichever source they came from. */
export interface ComparisonReference {
  kind: ReferenceKind;
  /** In words, for reports and the dashboard: the manifest's source, or the live predictions it was learned from. */
  source: string;
  /** Samples it was computed from. */
  samples: number;
  /** Share per predicted class index. */
  predictedClass: number[];
  histograms: Record<HistogramMetric, HistogramReference>;
}

/**
 * Stands in for a manifest reference: the first closed windows of a model version, merged until they hold
 * at least the configured minimum number of predictions.
 */
export interface WarmupBaseline extends DistributionCounts {
  complete: boolean;
}

export function manifestComparison(model: ModelReference): ComparisonReference {
  const r = model.reference;
  return {
    kind: 'manifest',
    source: `manifest: ${r.source}`,
    samples: r.samples,
    predictedClass: [...r.predicted_class.probabilities],
    histograms: { confidence: r.confidence, brightness: r.brightness, contrast: r.contrast },
  };
}

export function manifestEdges(model: ModelReference): HistogramEdges {
  const r = model.reference;
  return { confidence: [...r.confidence.edges], brightness: [...r.brightness.edges], contrast: [...r.contrast.edges] };
}

function shares(counts: readonly number[], total: number): number[] {
  return counts.map((n) => (total > 0 ? n / total : 0));
}

/** Said wherever a warm-up reference is shown: it describes live traffic, which may already have drifted. */
export function warmupSource(predictions: number): string {
  return `learned from the first ${predictions} live predictions of this model version (its manifest has no reference)`;
}

export function baselineComparison(b: WarmupBaseline): ComparisonReference {
  const histogram = (metric: HistogramMetric): HistogramReference => {
    const bins = b.histograms[metric];
    const total = bins.counts.reduce((sum, n) => sum + n, 0);
    return { edges: [...bins.edges], probabilities: shares(bins.counts, total) };
  };
  return {
    kind: 'warmup',
    source: warmupSource(b.count),
    samples: b.count,
    predictedClass: shares(b.classCounts, b.count),
    histograms: {
      confidence: histogram('confidence'),
      brightness: histogram('brightness'),
      contrast: histogram('contrast'),
    },
  };
}

/** Adds a closed window to a (possibly new) warm-up baseline; complete once it holds `minCount` predictions. */
export function extendBaseline(baseline: WarmupBaseline | undefined, window: DistributionCounts, minCount: number): WarmupBaseline {
  const edges: HistogramEdges = {
    confidence: window.histograms.confidence.edges,
    brightness: window.histograms.brightness.edges,
    contrast: window.histograms.contrast.edges,
  };
  const next: WarmupBaseline = baseline ?? { ...emptyDistribution(edges, 0), complete: false };
  mergeDistribution(next, window);
  next.complete = next.count >= minCount;
  return next;
}
