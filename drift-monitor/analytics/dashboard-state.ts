/**
 * GET /api/state: what the dashboard page (drift-monitor/dashboard/) renders, built from the analytics state by
 * one pure function. Every field is plain JSON.
 */
import { compareVariants, estimateProportion, type ProportionEstimate, type VariantComparison } from './accuracy.ts';
import type { DriftContext, DriftState } from './drift-state.ts';
import type { Severity, SeverityThresholds } from './psi.ts';
import { trafficDrifted } from './label-free.ts';
import { baselineComparison, warmupSource } from './reference.ts';
import { modelKey, streamKey, type StreamId } from './stream-id.ts';
import type { WindowPolicy } from './window.ts';
import { PSI_METRIC_NAMES, type PsiMetricName, type WindowSummary } from './window-summary.ts';

export interface PsiPoint {
  window_index: number;
  window_end: number;
  psi: number;
}

export interface ClassDistribution {
  labels: string[];
  /** Shares in the last closed window, per label. */
  current: number[];
  /** Reference shares per label; null while the warm-up baseline is incomplete. */
  reference: number[] | null;
}

export interface DashboardStream extends StreamId {
  key: string;
  /** Short human name, e.g. "mnist 2 · shadow · exp-7". */
  title: string;
  /** 'warming-up' until a model without a manifest reference has its warm-up baseline. */
  reference: 'manifest' | 'warmup' | 'warming-up';
  /**
   * The reference in words: the manifest's source, "learned from the first N live predictions ..." (a warm-up
   * reference describes live traffic, which may already have drifted), or how far the warm-up has got.
   */
  reference_text: string;
  windows_closed: number;
  /** Predictions in the window still open. */
  open_count: number;
  /** Of the last closed window; null before the first comparison. */
  severity: Severity | null;
  last_window: WindowSummary | null;
  /** Per metric, the recent closed windows oldest first. */
  psi: Record<PsiMetricName, PsiPoint[]>;
  classes: ClassDistribution | null;
  latency: { p50: number; p95: number; p99: number } | null;
  /** Running accuracy from joined feedback, with its Wilson interval. */
  accuracy: ProportionEstimate | null;
  /**
   * Label-free accuracy of the last closed window (null without a calibration in the manifest). `traffic_drifted`:
   * an input or output PSI was significant (trafficDrifted), where the estimate was furthest off on shifted test images.
   */
  expected_accuracy: { estimate: number; low: number; high: number; count: number; traffic_drifted: boolean } | null;
}

export interface DashboardComparison extends VariantComparison {
  experiment_id: string | null;
  a: string;
  b: string;
  a_title: string;
  b_title: string;
}

export interface DashboardAgreement extends ProportionEstimate {
  served: string;
  shadow: string;
  served_title: string;
  shadow_title: string;
}

export interface DashboardState {
  generated_at: number;
  thresholds: SeverityThresholds;
  window_policy: WindowPolicy;
  streams: DashboardStream[];
  /** A/B tests of running accuracy between served versions of the same experiment. */
  comparisons: DashboardComparison[];
  agreement: DashboardAgreement[];
  join: { pending_requests: number; watermark: number | null; joined: number; duplicates: number; expired_unjoined: number; evicted_for_capacity: number };
}

export function streamTitle(id: StreamId): string {
  return [`${id.model_name} ${id.model_version}`, id.variant, id.experiment_id ?? 'no experiment'].join(' · ');
}

function classDistribution(state: DriftState, id: StreamId, last: WindowSummary | null, ctx: DriftContext): ClassDistribution | null {
  if (!last) return null;
  const model = ctx.referenceFor(id.model_name, id.model_version);
  const baseline = state.windows.baselines[modelKey(id)];
  const referenceLabels = model?.labels ?? (state.windows.labels[modelKey(id)] ?? []).map((label, i) => label ?? String(i));
  const referenceShares = model
    ? model.reference.predicted_class.probabilities
    : baseline?.complete
      ? baselineComparison(baseline).predictedClass
      : null;
  const labels = [...referenceLabels];
  for (const label of Object.keys(last.class_shares)) if (!labels.includes(label)) labels.push(label);
  const byLabel = new Map<string, number>();
  referenceShares?.forEach((share, i) => byLabel.set(referenceLabels[i] ?? String(i), share));
  const shares = new Map(Object.entries(last.class_shares));
  return {
    labels,
    current: labels.map((label) => shares.get(label) ?? 0),
    reference: referenceShares ? labels.map((label) => byLabel.get(label) ?? 0) : null,
  };
}

function psiSeries(history: readonly WindowSummary[]): Record<PsiMetricName, PsiPoint[]> {
  const series = Object.fromEntries(PSI_METRIC_NAMES.map((name) => [name, [] as PsiPoint[]])) as Record<PsiMetricName, PsiPoint[]>;
  for (const summary of history) {
    for (const metric of summary.metrics) {
      series[metric.name].push({ window_index: summary.window_index, window_end: summary.window_end, psi: metric.psi });
    }
  }
  return series;
}

function comparisons(streams: readonly DashboardStream[], state: DriftState, alpha: number): DashboardComparison[] {
  const served = streams.filter((s) => s.variant === 'served');
  const out: DashboardComparison[] = [];
  for (let i = 0; i < served.length; i++) {
    for (let j = i + 1; j < served.length; j++) {
      const a = served[i]!;
      const b = served[j]!;
      if (a.experiment_id !== b.experiment_id) continue;
      const ta = state.join.accuracy[a.key];
      const tb = state.join.accuracy[b.key];
      if (!ta || !tb) continue;
      const result = compareVariants({ hits: ta.correct, trials: ta.labeled }, { hits: tb.correct, trials: tb.labeled }, alpha);
      if (result) out.push({ ...result, experiment_id: a.experiment_id, a: a.key, b: b.key, a_title: a.title, b_title: b.title });
    }
  }
  return out;
}

export function buildDashboardState(state: DriftState, ctx: DriftContext, now: number): DashboardState {
  const confidence = ctx.config.window.accuracyConfidence;
  const streams = Object.entries(state.windows.streams)
    .sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0))
    .map(([key, stream]): DashboardStream => {
      const id = stream.id;
      const history = state.recent[key] ?? [];
      const last = history[history.length - 1] ?? null;
      const hasManifest = ctx.referenceFor(id.model_name, id.model_version) !== undefined;
      const baselineComplete = state.windows.baselines[modelKey(id)]?.complete ?? false;
      const tally = state.join.accuracy[key];
      const baseline = state.windows.baselines[modelKey(id)];
      const model = ctx.referenceFor(id.model_name, id.model_version);
      const referenceText = model
        ? `manifest: ${model.reference.source}`
        : baseline?.complete
          ? warmupSource(baseline.count)
          : `warming up: ${baseline?.count ?? 0} of ${ctx.config.window.warmupMinCount} live predictions (the manifest has no reference)`;
      const expected = last?.expected_accuracy != null && last.expected_accuracy_ci_low != null && last.expected_accuracy_ci_high != null
        ? {
          estimate: last.expected_accuracy, low: last.expected_accuracy_ci_low, high: last.expected_accuracy_ci_high, count: last.calibrated_count ?? 0,
          traffic_drifted: trafficDrifted(last.metrics.filter((m) => m.severity === 'significant').map((m) => m.name)),
        }
        : null;
      return {
        ...id,
        key,
        title: streamTitle(id),
        reference: hasManifest ? 'manifest' : baselineComplete ? 'warmup' : 'warming-up',
        reference_text: referenceText,
        windows_closed: stream.nextIndex - (stream.open ? 1 : 0),
        open_count: stream.open?.count ?? 0,
        severity: last && last.metrics.length > 0 ? last.severity : null,
        last_window: last,
        psi: psiSeries(history),
        classes: classDistribution(state, id, last, ctx),
        latency: last ? { p50: last.latency_p50_ms, p95: last.latency_p95_ms, p99: last.latency_p99_ms } : null,
        accuracy: tally ? estimateProportion({ hits: tally.correct, trials: tally.labeled }, confidence) : null,
        expected_accuracy: expected,
      };
    });
  const titles = new Map(streams.map((s) => [s.key, s.title]));
  const agreement = Object.values(state.join.agreement).flatMap((tally): DashboardAgreement[] => {
    const estimate = estimateProportion({ hits: tally.agreed, trials: tally.compared }, confidence);
    if (!estimate) return [];
    const served = streamKey(tally.served);
    const shadow = streamKey(tally.shadow);
    return [
      {
        ...estimate,
        served,
        shadow,
        served_title: titles.get(served) ?? streamTitle(tally.served),
        shadow_title: titles.get(shadow) ?? streamTitle(tally.shadow),
      },
    ];
  });
  const { counters } = state.join;
  return {
    generated_at: now,
    thresholds: ctx.config.window.thresholds,
    window_policy: ctx.config.window.policy,
    streams,
    comparisons: comparisons(streams, state, ctx.config.alpha),
    agreement,
    join: {
      pending_requests: state.join.pending.size,
      watermark: state.join.watermark,
      joined: counters.joined,
      duplicates: counters.duplicates,
      expired_unjoined: counters.expiredUnjoined,
      evicted_for_capacity: counters.evictedForCapacity,
    },
  };
}
