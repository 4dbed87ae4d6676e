import { Counter, Gauge, Histogram, type Registry } from 'prom-client';
import type { DriftState } from '../analytics/drift-state.ts';
import type { StreamId } from '../analytics/stream-id.ts';
import type { WindowSummary } from '../analytics/window-summary.ts';
import { SEVERITY_LEVEL } from './severity-log.ts';

const STREAM_LABELS = ['model_name', 'model_version', 'variant', 'experiment'] as const;

export function streamLabels(id: StreamId): Record<(typeof STREAM_LABELS)[number], string> {
  return { model_name: id.model_name, model_version: id.model_version, variant: id.variant, experiment: id.experiment_id ?? '' };
}

/**
 * Per stream (model version × served/shadow × experiment). Window gauges hold the last closed window; the
 * running accuracy, agreement and join gauges are read from the state on each scrape.
 */
export function createDriftMetrics(registry: Registry, state: () => DriftState) {
  const registers = [registry];
  const labelNames = [...STREAM_LABELS];
  return {
    psi: new Gauge({ name: 'drift_psi', help: 'PSI of the last closed window against the reference, per metric', labelNames: [...labelNames, 'metric'], registers }),
    severity: new Gauge({ name: 'drift_severity', help: 'Worst severity of the last closed window: 0 stable, 1 moderate, 2 significant', labelNames, registers }),
    windowsClosed: new Counter({ name: 'drift_windows_closed_total', help: 'Windows closed and reported, by severity', labelNames: [...labelNames, 'severity'], registers }),
    meanConfidence: new Gauge({ name: 'drift_mean_confidence', help: 'Mean top-1 confidence in the last closed window', labelNames, registers }),
    expectedAccuracy: new Gauge({
      name: 'drift_expected_accuracy_ratio',
      help: 'Label-free accuracy of the last closed window: mean calibrated top-1 probability (estimate) and its interval (low, high) if the calibration transfers to the traffic, which it does not under label or concept shift',
      labelNames: [...labelNames, 'bound'], registers,
    }),
    referenceSamples: new Gauge({
      name: 'drift_reference_samples', help: 'Samples the last closed window\'s PSI reference was computed from, by source (manifest: held-out data; warmup: the first live predictions)',
      labelNames: [...labelNames, 'source'], registers,
    }),
    classShare: new Gauge({ name: 'drift_class_share', help: 'Share of predictions per predicted class in the last closed window', labelNames: [...labelNames, 'class'], registers }),
    latency: new Gauge({ name: 'drift_window_latency_seconds', help: 'Submitted-to-predicted latency percentile of the last closed window', labelNames: [...labelNames, 'quantile'], registers }),
    predictions: new Counter({ name: 'drift_predictions_total', help: 'Predictions read, by outcome (counted, duplicate)', labelNames: [...labelNames, 'outcome'], registers }),
    reread: new Counter({ name: 'drift_records_reread_total', help: 'Records delivered again below the counted position and skipped (read twice, counted once)', labelNames: ['topic'], registers }),
    feedback: new Counter({ name: 'drift_feedback_total', help: 'Feedback records read, by outcome (joined, waiting for its prediction, duplicate)', labelNames: ['outcome'], registers }),
    deadLetters: new Counter({ name: 'drift_dead_letters_total', help: 'Records sent to the dead-letter topic', labelNames: ['topic', 'stage', 'error_class'], registers }),
    reports: new Counter({ name: 'drift_reports_published_total', help: 'DriftReports produced (again after a restart for windows closed since the last snapshot)', registers }),
    snapshotBytes: new Gauge({ name: 'drift_snapshot_bytes', help: 'Gzipped size of the last snapshot written to the state topic', registers }),
    snapshotSeconds: new Histogram({
      name: 'drift_snapshot_duration_seconds', help: 'Serialise, compress and write one snapshot', registers,
      buckets: [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10],
    }),
    snapshotFailures: new Counter({ name: 'drift_snapshot_failures_total', help: 'Snapshot writes that failed (retried at the next interval)', registers }),
    accuracy: new Gauge({
      name: 'drift_accuracy', help: 'Running accuracy of a stream from joined feedback', labelNames, registers,
      collect() {
        this.reset();
        for (const tally of Object.values(state().join.accuracy)) {
          if (tally.labeled > 0) this.set(streamLabels(tally.stream), tally.correct / tally.labeled);
        }
      },
    }),
    labeled: new Gauge({
      name: 'drift_labeled_predictions', help: 'Predictions of a stream with joined feedback since the state began', labelNames, registers,
      collect() {
        this.reset();
        for (const tally of Object.values(state().join.accuracy)) this.set(streamLabels(tally.stream), tally.labeled);
      },
    }),
    agreement: new Gauge({
      name: 'drift_shadow_agreement', help: 'Share of requests where a shadow predicted the same class as the served version',
      labelNames: ['model_name', 'served_version', 'shadow_version', 'experiment'], registers,
      collect() {
        this.reset();
        for (const t of Object.values(state().join.agreement)) {
          if (t.compared === 0) continue;
          this.set({ model_name: t.served.model_name, served_version: t.served.model_version, shadow_version: t.shadow.model_version, experiment: t.served.experiment_id ?? '' }, t.agreed / t.compared);
        }
      },
    }),
    pending: new Gauge({
      name: 'drift_join_pending_requests', help: 'Requests waiting in the feedback join buffer', registers,
      collect() {
        this.set(state().join.pending.size);
      },
    }),
  };
}

export type DriftMetrics = ReturnType<typeof createDriftMetrics>;

/** What forgetStreams needs of a Gauge or Counter. */
interface LabelledSeries {
  get(): Promise<{ values: { labels: Partial<Record<string, string | number>> }[] }>;
  remove(labels: Partial<Record<string, string | number>>): void;
}

/**
 * Removes every series of the given streams (retired experiments, see retireIdleExperiments): their last-window
 * gauges and their counters, so /metrics does not keep a label set per experiment ever run. The gauges computed
 * from the state on each scrape drop them by themselves.
 */
export async function forgetStreams(m: DriftMetrics, streams: readonly StreamId[]): Promise<void> {
  const identity = (labels: Partial<Record<string, string | number>>): string => STREAM_LABELS.map((name) => String(labels[name] ?? '')).join('\u0000');
  const gone = new Set(streams.map((id) => identity(streamLabels(id))));
  const perStream: LabelledSeries[] = [m.psi, m.severity, m.windowsClosed, m.meanConfidence, m.expectedAccuracy, m.referenceSamples, m.classShare, m.latency, m.predictions];
  for (const metric of perStream) {
    for (const { labels } of (await metric.get()).values) if (gone.has(identity(labels))) metric.remove(labels);
  }
}

/** Sets the last-window gauges of a closed window's stream. */
export function recordWindow(m: DriftMetrics, s: WindowSummary, counted = true): void {
  const labels = streamLabels(s);
  if (counted) m.windowsClosed.inc({ ...labels, severity: s.severity });
  for (const metric of s.metrics) m.psi.set({ ...labels, metric: metric.name }, metric.psi);
  if (s.metrics.length > 0) m.severity.set(labels, SEVERITY_LEVEL[s.severity]);
  m.meanConfidence.set(labels, s.mean_confidence);
  if (s.expected_accuracy != null) {
    m.expectedAccuracy.set({ ...labels, bound: 'estimate' }, s.expected_accuracy);
    if (s.expected_accuracy_ci_low != null) m.expectedAccuracy.set({ ...labels, bound: 'low' }, s.expected_accuracy_ci_low);
    if (s.expected_accuracy_ci_high != null) m.expectedAccuracy.set({ ...labels, bound: 'high' }, s.expected_accuracy_ci_high);
  }
  const kind = s.metrics[0]?.reference;
  if (kind !== undefined && s.reference_samples !== undefined) m.referenceSamples.set({ ...labels, source: kind }, s.reference_samples);
  for (const [label, share] of Object.entries(s.class_shares)) m.classShare.set({ ...labels, class: label }, share);
  m.latency.set({ ...labels, quantile: '0.5' }, s.latency_p50_ms / 1000);
  m.latency.set({ ...labels, quantile: '0.95' }, s.latency_p95_ms / 1000);
  m.latency.set({ ...labels, quantile: '0.99' }, s.latency_p99_ms / 1000);
}
