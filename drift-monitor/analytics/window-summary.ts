import { HISTOGRAM_METRICS, type DistributionCounts } from './distribution-counts.ts';
import { padWithZeros, sameEdges } from './histogram.ts';
import { psi, severity, worstSeverity, type Severity, type SeverityThresholds } from './psi.ts';
import { expectedAccuracy, type CalibratedSums } from './label-free.ts';
import type { ComparisonReference, ReferenceKind } from './reference.ts';
import type { Reservoir } from './reservoir.ts';
import { latencyPercentiles, wilsonInterval } from './stats.ts';
import type { StreamId } from './stream-id.ts';
import type { Variant } from './events.ts';

export const PSI_METRIC_NAMES = ['predicted_class', ...HISTOGRAM_METRICS] as const;
export type PsiMetricName = (typeof PSI_METRIC_NAMES)[number];

/** schemas/drift-report.avsc PsiMetric. */
export interface PsiMetric {
  name: PsiMetricName;
  psi: number;
  severity: Severity;
  reference: ReferenceKind;
}

/** One closed window: field for field the DriftReport record of schemas/drift-report.avsc. */
export interface WindowSummary {
  model_name: string;
  model_version: string;
  variant: Variant;
  experiment_id: string | null;
  window_index: number;
  window_start: number;
  window_end: number;
  count: number;
  /** Empty while the window is part of a warm-up baseline: there is nothing to compare it to yet. */
  metrics: PsiMetric[];
  severity: Severity;
  mean_confidence: number;
  /** Share of the window's predictions per predicted label. */
  class_shares: Record<string, number>;
  labeled_count: number;
  accuracy: number | null;
  accuracy_ci_low: number | null;
  accuracy_ci_high: number | null;
  latency_p50_ms: number;
  latency_p95_ms: number;
  latency_p99_ms: number;
  emitted_at: number;
  /** Shadow windows: requests whose served prediction was paired with this window's shadow prediction, and how many had the same class. */
  agreement_compared: number;
  agreement_agreed: number;
  /**
   * Where the PSI reference came from, in words ("manifest: held-out validation split ..." or "learned from the
   * first N live predictions ..."), and how many samples it holds; null and 0 while there is none yet. These
   * and the fields below are absent only in summaries restored from a snapshot written before they existed.
   */
  reference_source?: string | null;
  reference_samples?: number;
  /**
   * Label-free accuracy (label-free.ts): the mean calibrated top-1 probability, and its interval if calibration
   * transfers; null when the model's manifest has no calibration.
   */
  expected_accuracy?: number | null;
  expected_accuracy_ci_low?: number | null;
  expected_accuracy_ci_high?: number | null;
  /** Predictions the estimate is the mean of, and the mean of their squared probabilities (for combining windows). */
  calibrated_count?: number;
  calibrated_square_mean?: number | null;
}

/** A tumbling window's accumulated state while it is open. */
export interface OpenWindow extends DistributionCounts {
  index: number;
  /** Time windows: the aligned start; count windows: the earliest predicted_at seen. */
  start: number;
  /** Time windows: start + length (exclusive); count windows: the latest predicted_at seen. */
  end: number;
  confidenceSum: number;
  /** Sample of timings.total_ms. */
  latency: Reservoir;
  /** Feedback joined while this window was open. */
  labeled: number;
  correct: number;
  /** Shadow streams: served/shadow pairs completed while this window was open (absent in older snapshots). */
  agreementCompared?: number;
  agreementAgreed?: number;
  /** Calibrated top-1 probabilities of the predictions (absent in older snapshots). */
  calibrated?: CalibratedSums;
}

export interface SummaryOptions {
  thresholds: SeverityThresholds;
  psiEpsilon: number;
  /** Two-sided confidence of the accuracy interval, e.g. 0.95. */
  accuracyConfidence: number;
}

/**
 * PSI of each metric against the reference. A histogram counted against other edges than the reference's
 * cannot be compared bin by bin and is left out (only when a reference's edges change while a window is open).
 */
export function psiMetrics(window: DistributionCounts, reference: ComparisonReference, options: SummaryOptions): PsiMetric[] {
  const metric = (name: PsiMetricName, value: number): PsiMetric => ({
    name,
    psi: value,
    severity: severity(value, options.thresholds),
    reference: reference.kind,
  });
  const classBins = Math.max(window.classCounts.length, reference.predictedClass.length);
  const metrics = [
    metric(
      'predicted_class',
      psi(padWithZeros(window.classCounts, classBins), padWithZeros(reference.predictedClass, classBins), options.psiEpsilon),
    ),
  ];
  for (const name of HISTOGRAM_METRICS) {
    const actual = window.histograms[name];
    const expected = reference.histograms[name];
    if (!sameEdges(actual.edges, expected.edges)) continue;
    metrics.push(metric(name, psi(actual.counts, expected.probabilities, options.psiEpsilon)));
  }
  return metrics;
}

/** Share per label; an index without a known label is named by its number. */
export function classShares(
  classCounts: readonly number[],
  labels: ReadonlyArray<string | null>,
  total: number,
): Record<string, number> {
  // A Map, then fromEntries: a label such as "__proto__" becomes an ordinary key.
  const shares = new Map<string, number>();
  classCounts.forEach((n, i) => {
    const label = labels[i] ?? String(i);
    shares.set(label, (shares.get(label) ?? 0) + (total > 0 ? n / total : 0));
  });
  return Object.fromEntries(shares);
}

export function summariseWindow(
  id: StreamId,
  window: OpenWindow,
  reference: ComparisonReference | null,
  labels: ReadonlyArray<string | null>,
  options: SummaryOptions,
  emittedAt: number,
): WindowSummary {
  const metrics = reference ? psiMetrics(window, reference, options) : [];
  const latency = latencyPercentiles(window.latency.samples);
  const interval = window.labeled > 0 ? wilsonInterval(window.correct, window.labeled, options.accuracyConfidence) : null;
  const expected = window.calibrated ? expectedAccuracy(window.calibrated, options.accuracyConfidence) : null;
  return {
    model_name: id.model_name,
    model_version: id.model_version,
    variant: id.variant,
    experiment_id: id.experiment_id,
    window_index: window.index,
    window_start: window.start,
    window_end: window.end,
    count: window.count,
    metrics,
    severity: worstSeverity(metrics.map((m) => m.severity)),
    mean_confidence: window.confidenceSum / window.count,
    class_shares: classShares(window.classCounts, labels, window.count),
    labeled_count: window.labeled,
    accuracy: window.labeled > 0 ? window.correct / window.labeled : null,
    accuracy_ci_low: interval?.low ?? null,
    accuracy_ci_high: interval?.high ?? null,
    latency_p50_ms: latency.p50,
    latency_p95_ms: latency.p95,
    latency_p99_ms: latency.p99,
    emitted_at: emittedAt,
    agreement_compared: window.agreementCompared ?? 0,
    agreement_agreed: window.agreementAgreed ?? 0,
    reference_source: reference?.source ?? null,
    reference_samples: reference?.samples ?? 0,
    expected_accuracy: expected?.estimate ?? null,
    expected_accuracy_ci_low: expected?.low ?? null,
    expected_accuracy_ci_high: expected?.high ?? null,
    calibrated_count: expected?.count ?? 0,
    calibrated_square_mean: expected?.square_mean ?? null,
  };
}
