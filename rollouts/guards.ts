/**
 * The guards of a rollout step, evaluated on the step's evidence. Each one is `pass`, `fail` (roll back now),
 * `pending` (not enough data to say) or `off` (turned off, or not applicable at this step), with the numbers
 * behind it so a decision can show why.
 *
 * Accuracy is a one-sided two-proportion test, in two halves. It fails when the candidate is significantly
 * less accurate than the baseline (pooled z-test of H0: candidate ≥ baseline, p < α). It passes once a drop of
 * `min_detectable_difference` or more can be ruled out: the one-sided (1 − α) upper bound of the baseline
 * minus candidate accuracy (unpooled standard error) is below it. In between, it waits for more labels. The
 * test is re-run as evidence arrives, which raises the chance of a false failure above α over a long step
 * (repeated looks); `min_samples` keeps the first looks from being on a handful of labels.
 */
import { normalCdf, normalQuantile, twoProportionZTest } from '../drift-monitor/analytics/stats.ts';
import { summariseStream, windowsOf, type StepEvidence, type StreamSummary } from './evidence.ts';
import type { AccuracyGuard, AgreementGuard, ErrorGuard, GuardName, Guards, LatencyGuard, PsiGuard, RolloutStep } from './spec.ts';

export type GuardOutcome = 'pass' | 'fail' | 'pending' | 'off';

export interface GuardResult {
  name: GuardName;
  outcome: GuardOutcome;
  /** The guard's main number (e.g. the accuracy drop) and the limit it is held to; null where there is none yet. */
  observed: number | null;
  limit: number | null;
  message: string;
  statistics: Record<string, number>;
}

const pct = (x: number): string => `${(x * 100).toFixed(1)}%`;
const pp = (x: number): string => `${(x * 100).toFixed(1)} pp`;
const pValueText = (p: number): string => (p < 0.001 ? '< 0.001' : `= ${p.toFixed(3)}`);

function result(name: GuardName, outcome: GuardOutcome, message: string, observed: number | null = null, limit: number | null = null, statistics: Record<string, number> = {}): GuardResult {
  return { name, outcome, observed, limit, message, statistics };
}

function accuracy(g: AccuracyGuard, c: StreamSummary, b: StreamSummary): GuardResult {
  if (c.labelled < g.min_samples || b.labelled < g.min_samples) {
    return result('accuracy', 'pending', `waiting for labels: candidate ${c.labelled}, baseline ${b.labelled} of ${g.min_samples} each`, null, g.min_detectable_difference,
      { candidate_labelled: c.labelled, baseline_labelled: b.labelled, min_samples: g.min_samples });
  }
  const pb = b.correct / b.labelled;
  const pc = c.correct / c.labelled;
  const shortfall = pb - pc;
  const { z } = twoProportionZTest(b.correct, b.labelled, c.correct, c.labelled);
  const pValue = normalCdf(-z);
  const standardError = Math.sqrt((pb * (1 - pb)) / b.labelled + (pc * (1 - pc)) / c.labelled);
  const upperBound = shortfall + normalQuantile(1 - g.alpha) * standardError;
  const statistics = {
    baseline_accuracy: pb, candidate_accuracy: pc, baseline_labelled: b.labelled, candidate_labelled: c.labelled,
    shortfall, z, p_value: pValue, alpha: g.alpha, shortfall_upper_bound: upperBound, min_detectable_difference: g.min_detectable_difference,
  };
  const versus = `candidate ${pct(pc)} (${c.correct}/${c.labelled}) vs baseline ${pct(pb)} (${b.correct}/${b.labelled})`;
  if (pValue < g.alpha) {
    return result('accuracy', 'fail', `${versus}: significantly lower (one-sided z = ${z.toFixed(2)}, p ${pValueText(pValue)} < α ${g.alpha})`, shortfall, g.min_detectable_difference, statistics);
  }
  if (upperBound < g.min_detectable_difference) {
    return result('accuracy', 'pass', `${versus}: a drop of ${pp(g.min_detectable_difference)} is ruled out (upper bound ${pp(upperBound)})`, shortfall, g.min_detectable_difference, statistics);
  }
  return result('accuracy', 'pending', `${versus}: not significantly lower, but a drop of ${pp(g.min_detectable_difference)} is not ruled out yet (upper bound ${pp(upperBound)})`,
    shortfall, g.min_detectable_difference, statistics);
}

function psi(g: PsiGuard, e: StepEvidence): GuardResult {
  const judged = windowsOf(e.candidate).filter((w) => w.severity !== null && w.count >= g.min_window_predictions);
  if (judged.length === 0) {
    return result('psi', 'pending', `no candidate window with a reference and at least ${g.min_window_predictions} predictions yet`);
  }
  let run = 0;
  let longest = 0;
  let significantWindows = 0;
  let worst = judged[0]!;
  for (const w of judged) {
    run = w.significant.length > 0 ? run + 1 : 0;
    longest = Math.max(longest, run);
    if (w.significant.length > 0) significantWindows += 1;
    if ((w.max_psi ?? 0) > (worst.max_psi ?? 0)) worst = w;
  }
  const statistics = { windows_judged: judged.length, significant_windows: significantWindows, longest_significant_run: longest, max_psi: worst.max_psi ?? 0, consecutive_windows: g.consecutive_windows };
  const worstText = `max PSI ${(worst.max_psi ?? 0).toFixed(3)} (${worst.max_psi_metric ?? '-'}, window ${worst.index})`;
  if (longest >= g.consecutive_windows) {
    const metrics = [...new Set(judged.flatMap((w) => w.significant))].join(', ');
    return result('psi', 'fail', `candidate PSI significant (${metrics}) in ${longest} window${longest === 1 ? '' : 's'} in a row of ${judged.length}; ${worstText}`,
      worst.max_psi, null, statistics);
  }
  return result('psi', 'pass', `no ${g.consecutive_windows} significant window${g.consecutive_windows === 1 ? '' : 's'} in a row in ${judged.length}; ${worstText}`, worst.max_psi, null, statistics);
}

function errorRate(s: StreamSummary): { rate: number; total: number } {
  const total = s.predictions + s.dead_letters;
  return { rate: total > 0 ? s.dead_letters / total : 0, total };
}

function errors(g: ErrorGuard, c: StreamSummary, b: StreamSummary): GuardResult {
  const candidate = errorRate(c);
  const baseline = errorRate(b);
  const statistics = {
    candidate_dead_letters: c.dead_letters, candidate_predictions: c.predictions, candidate_rate: candidate.rate,
    baseline_dead_letters: b.dead_letters, baseline_predictions: b.predictions, baseline_rate: baseline.rate, margin: g.margin,
  };
  if (candidate.total < g.min_samples) {
    return result('errors', 'pending', `${candidate.total} candidate predictions and dead letters of ${g.min_samples} needed`, null, null, statistics);
  }
  const limit = baseline.rate + g.margin;
  const text = `candidate dead-letter rate ${pct(candidate.rate)} (${c.dead_letters}/${candidate.total}) vs baseline ${pct(baseline.rate)} + margin ${pct(g.margin)}`;
  return result('errors', candidate.rate > limit ? 'fail' : 'pass', text, candidate.rate, limit, statistics);
}

function latency(g: LatencyGuard, c: StreamSummary, b: StreamSummary): GuardResult {
  if (c.windows < g.min_windows || b.windows < g.min_windows || c.latency_p95_ms === null || b.latency_p95_ms === null) {
    return result('latency', 'pending', `closed windows: candidate ${c.windows}, baseline ${b.windows} of ${g.min_windows} each`);
  }
  const limit = b.latency_p95_ms * g.p95_ratio;
  const statistics = { candidate_p95_ms: c.latency_p95_ms, baseline_p95_ms: b.latency_p95_ms, ratio: c.latency_p95_ms / b.latency_p95_ms, max_ratio: g.p95_ratio };
  const text = `candidate p95 ${c.latency_p95_ms.toFixed(0)} ms vs baseline ${b.latency_p95_ms.toFixed(0)} ms × ${g.p95_ratio} = ${limit.toFixed(0)} ms`;
  return result('latency', c.latency_p95_ms > limit ? 'fail' : 'pass', text, c.latency_p95_ms, limit, statistics);
}

function agreement(g: AgreementGuard, step: RolloutStep, c: StreamSummary): GuardResult {
  if (!step.shadow) return result('agreement', 'off', 'only at shadow steps');
  const statistics = { compared: c.agreement_compared, agreed: c.agreement_agreed, min_rate: g.min_rate, min_samples: g.min_samples };
  if (c.agreement_compared < g.min_samples) {
    return result('agreement', 'pending', `${c.agreement_compared} served/shadow pairs of ${g.min_samples} needed`, null, g.min_rate, statistics);
  }
  const rate = c.agreement_agreed / c.agreement_compared;
  const text = `candidate agrees with the baseline on ${pct(rate)} (${c.agreement_agreed}/${c.agreement_compared}); at least ${pct(g.min_rate)} needed`;
  return result('agreement', rate < g.min_rate ? 'fail' : 'pass', text, rate, g.min_rate, { ...statistics, rate });
}

const OFF = (name: GuardName): GuardResult => result(name, 'off', 'turned off in the rollout');

/** Every guard of the rollout on the step's evidence, in a fixed order. */
export function evaluateGuards(guards: Guards, step: RolloutStep, e: StepEvidence): GuardResult[] {
  const c = summariseStream(e.candidate);
  const b = summariseStream(e.baseline);
  return [
    guards.accuracy ? accuracy(guards.accuracy, c, b) : OFF('accuracy'),
    guards.psi ? psi(guards.psi, e) : OFF('psi'),
    guards.errors ? errors(guards.errors, c, b) : OFF('errors'),
    guards.latency ? latency(guards.latency, c, b) : OFF('latency'),
    guards.agreement ? agreement(guards.agreement, step, c) : OFF('agreement'),
  ];
}
