/**
 * The guards of a rollout step, evaluated on the step's evidence. Each one is `pass`, `fail` (roll back now),
 * `pending` (not enough data to say) or `off` (turned off, or not applicable at this step), with the numbers
 * behind it so a decision can show why.
 *
 * Accuracy and errors are sequential tests of a harm against a margin (sequential.ts, levels in plan.ts): fail
 * once a harm above the margin is established, pass once one is ruled out, wait in between. Their bounds hold
 * at every look, so they may be evaluated after every window without raising their error rates.
 *
 * With `label_free_min_predictions` set, the accuracy guard runs the same test on the drift reports' expected
 * accuracies (mean calibrated top-1 probability) while labels are missing. Its error rates hold if each model's
 * calibration transfers to the traffic (expected accuracy = accuracy); windows whose input PSI (brightness or
 * contrast) is significant are left out, since that is where it did not on shifted test images (README).
 */
import { trafficDrifted } from '../drift-monitor/analytics/label-free.ts';
import { summariseStream, windowsOf, type StepEvidence, type StreamEvidence, type StreamSummary } from './evidence.ts';
import { stepArms, stepLevels } from './plan.ts';
import { compareArms, harmTest, type ArmCounts, type HarmTest } from './sequential.ts';
import type { AccuracyGuard, AgreementGuard, ErrorGuard, GuardName, LatencyGuard, PsiGuard, RolloutSpec, RolloutStep } from './spec.ts';

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

function harmStatistics(t: HarmTest, margin: number, alpha: number, beta: number): Record<string, number> {
  return { harm: t.estimate, standard_error: t.standard_error, harm_lower_bound: t.lower, harm_upper_bound: t.upper, p_value: t.p_value, margin, alpha_step: alpha, beta };
}

const bounds = (t: HarmTest): string => `bounds ${pp(t.lower)} to ${pp(t.upper)}`;

/** Per-window counts of a stream's labels, for the cluster-robust variance of a sticky rollout. */
function labelWindows(s: StreamEvidence): { events: number; trials: number }[] {
  return windowsOf(s).filter((w) => w.labelled > 0).map((w) => ({ events: w.correct, trials: w.labelled }));
}

export interface CalibratedArm {
  count: number;
  sum: number;
  squares: number;
  /** Windows with calibrated predictions left out for drifted inputs or outputs. */
  left_out: number;
}

/** A stream's calibrated predictions over its windows whose inputs and outputs did not drift. */
export function calibratedArm(s: StreamEvidence): CalibratedArm {
  const arm: CalibratedArm = { count: 0, sum: 0, squares: 0, left_out: 0 };
  for (const w of windowsOf(s)) {
    const n = w.calibrated_count ?? 0;
    if (n === 0) continue;
    if (trafficDrifted(w.significant)) {
      arm.left_out += 1;
      continue;
    }
    arm.count += n;
    arm.sum += w.calibrated_sum ?? 0;
    arm.squares += w.calibrated_squares ?? 0;
  }
  return arm;
}

/**
 * Mean calibrated probability and the variance of that mean, shrunk as armEstimate shrinks a proportion (one
 * pseudo-prediction at 1 and one at 0), so identical probabilities still leave a width; with sticky users, the
 * same design effect as armEstimate.
 */
export function calibratedEstimate(a: CalibratedArm, users: number, rho: number): { p: number; variance: number } {
  const n = a.count + 2;
  const p = (a.sum + 1) / n;
  const perPrediction = Math.max(0, (a.squares + 1) / n - p * p);
  const variance = users > 0 && rho > 0 ? perPrediction * (rho / Math.min(users, n) + (1 - rho) / n) : perPrediction / n;
  return { p, variance };
}

function labelFree(g: AccuracyGuard, spec: RolloutSpec, step: RolloutStep, e: StepEvidence, c: StreamSummary, b: StreamSummary): GuardResult {
  const margin = g.min_detectable_difference;
  const ca = calibratedArm(e.candidate);
  const ba = calibratedArm(e.baseline);
  const labels = `labels: candidate ${c.labelled}, baseline ${b.labelled} of ${g.min_samples} each`;
  const leftOut = ca.left_out + ba.left_out;
  const leftOutText = leftOut > 0 ? `; ${leftOut} window${leftOut === 1 ? '' : 's'} with drifted inputs or outputs left out` : '';
  const counts = {
    candidate_labelled: c.labelled, baseline_labelled: b.labelled, min_samples: g.min_samples, label_free: 1,
    candidate_calibrated: ca.count, baseline_calibrated: ba.count, label_free_min_predictions: g.label_free_min_predictions, windows_left_out: leftOut,
  };
  if (ca.count < g.label_free_min_predictions || ba.count < g.label_free_min_predictions) {
    return result('accuracy', 'pending', `waiting for ${labels}, or for calibrated predictions (label-free): candidate ${ca.count}, baseline ${ba.count} of ${g.label_free_min_predictions} each${leftOutText}`,
      null, margin, counts);
  }
  const levels = stepLevels(g, margin, spec.steps.length);
  const arms = stepArms(spec, g, step);
  const eb = calibratedEstimate(ba, arms.baseline_users, arms.user_correlation);
  const ec = calibratedEstimate(ca, arms.candidate_users, arms.user_correlation);
  const t = harmTest(eb.p - ec.p, eb.variance + ec.variance, levels);
  const pb = ba.sum / ba.count;
  const pc = ca.sum / ca.count;
  const statistics = { ...counts, baseline_expected_accuracy: pb, candidate_expected_accuracy: pc, shortfall: pb - pc, ...harmStatistics(t, margin, levels.alpha, levels.beta), min_detectable_difference: margin };
  const versus = `label-free (no ${labels}): candidate expected ${pct(pc)} vs baseline ${pct(pb)} from the calibrated confidences of ${ca.count} and ${ba.count} predictions${leftOutText}`;
  const assumption = 'if calibration transfers to this traffic';
  if (t.outcome === 'harmful') return result('accuracy', 'fail', `${versus}: a drop above the ${pp(margin)} margin is established ${assumption} (${bounds(t)})`, pb - pc, margin, statistics);
  if (t.outcome === 'acceptable') return result('accuracy', 'pass', `${versus}: a drop of ${pp(margin)} is ruled out ${assumption} (${bounds(t)})`, pb - pc, margin, statistics);
  // The label budget bounds the label-free test too: an estimate varies no more than a label (Var(c) ≤ p(1 − p)).
  if (step.max_labelled > 0 && ca.count >= step.max_labelled) {
    return result('accuracy', 'fail', `${versus}: a drop of ${pp(margin)} is still not ruled out after the step's budget of ${step.max_labelled} predictions (${bounds(t)})`, pb - pc, margin, statistics);
  }
  return result('accuracy', 'pending', `${versus}: a drop of ${pp(margin)} is neither established nor ruled out yet (${bounds(t)})`, pb - pc, margin, statistics);
}

function accuracy(g: AccuracyGuard, spec: RolloutSpec, step: RolloutStep, e: StepEvidence, c: StreamSummary, b: StreamSummary): GuardResult {
  const margin = g.min_detectable_difference;
  if (c.labelled < g.min_samples || b.labelled < g.min_samples) {
    if (g.label_free_min_predictions > 0) return labelFree(g, spec, step, e, c, b);
    return result('accuracy', 'pending', `waiting for labels: candidate ${c.labelled}, baseline ${b.labelled} of ${g.min_samples} each`, null, margin,
      { candidate_labelled: c.labelled, baseline_labelled: b.labelled, min_samples: g.min_samples });
  }
  const levels = stepLevels(g, margin, spec.steps.length);
  const arms = stepArms(spec, g, step);
  const sticky = spec.sticky_by !== null;
  const arm = (s: StreamSummary, windows: StreamEvidence, users: number): ArmCounts => ({
    events: s.correct, trials: s.labelled, users, user_correlation: arms.user_correlation, windows: sticky ? labelWindows(windows) : [],
  });
  // Harm: baseline accuracy minus candidate accuracy.
  const t = compareArms(arm(b, e.baseline, arms.baseline_users), arm(c, e.candidate, arms.candidate_users), levels);
  const pb = b.correct / b.labelled;
  const pc = c.correct / c.labelled;
  const statistics = {
    baseline_accuracy: pb, candidate_accuracy: pc, baseline_labelled: b.labelled, candidate_labelled: c.labelled, shortfall: pb - pc,
    ...harmStatistics(t, margin, levels.alpha, levels.beta), min_detectable_difference: margin, max_labelled: step.max_labelled,
  };
  const versus = `candidate ${pct(pc)} (${c.correct}/${c.labelled}) vs baseline ${pct(pb)} (${b.correct}/${b.labelled})`;
  if (t.outcome === 'harmful') {
    return result('accuracy', 'fail', `${versus}: a drop above the ${pp(margin)} margin is established (${bounds(t)}, anytime p ${pValueText(t.p_value)} ≤ ${levels.alpha.toPrecision(2)})`, pb - pc, margin, statistics);
  }
  if (t.outcome === 'acceptable') {
    return result('accuracy', 'pass', `${versus}: a drop of ${pp(margin)} is ruled out (${bounds(t)})`, pb - pc, margin, statistics);
  }
  if (step.max_labelled > 0 && c.labelled >= step.max_labelled) {
    return result('accuracy', 'fail', `${versus}: a drop of ${pp(margin)} is still not ruled out after the step's ${step.max_labelled} labels (${bounds(t)})`, pb - pc, margin, statistics);
  }
  return result('accuracy', 'pending', `${versus}: a drop of ${pp(margin)} is neither established nor ruled out yet (${bounds(t)})`, pb - pc, margin, statistics);
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

function errors(g: ErrorGuard, spec: RolloutSpec, c: StreamSummary, b: StreamSummary): GuardResult {
  const candidate = errorRate(c);
  const baseline = errorRate(b);
  const statistics = {
    candidate_dead_letters: c.dead_letters, candidate_predictions: c.predictions, candidate_rate: candidate.rate,
    baseline_dead_letters: b.dead_letters, baseline_predictions: b.predictions, baseline_rate: baseline.rate, margin: g.margin,
  };
  if (candidate.total < g.min_samples || baseline.total < g.min_samples) {
    return result('errors', 'pending', `predictions and dead letters: candidate ${candidate.total}, baseline ${baseline.total} of ${g.min_samples} each`, null, g.margin, statistics);
  }
  const levels = stepLevels(g, g.margin, spec.steps.length);
  // Harm: candidate dead-letter rate minus the baseline's.
  const t = compareArms({ events: c.dead_letters, trials: candidate.total }, { events: b.dead_letters, trials: baseline.total }, levels);
  const all = { ...statistics, ...harmStatistics(t, g.margin, levels.alpha, levels.beta) };
  const text = `candidate dead-letter rate ${pct(candidate.rate)} (${c.dead_letters}/${candidate.total}) vs baseline ${pct(baseline.rate)} (${b.dead_letters}/${baseline.total})`;
  const excess = candidate.rate - baseline.rate;
  if (t.outcome === 'harmful') return result('errors', 'fail', `${text}: an excess above the ${pp(g.margin)} margin is established (${bounds(t)})`, excess, g.margin, all);
  if (t.outcome === 'acceptable') return result('errors', 'pass', `${text}: an excess of ${pp(g.margin)} is ruled out (${bounds(t)})`, excess, g.margin, all);
  return result('errors', 'pending', `${text}: an excess of ${pp(g.margin)} is neither established nor ruled out yet (${bounds(t)})`, excess, g.margin, all);
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

/** Every guard of the rollout on the evidence of step `stepIndex`, in a fixed order. */
export function evaluateGuards(spec: RolloutSpec, stepIndex: number, e: StepEvidence): GuardResult[] {
  const { guards } = spec;
  const step = spec.steps[stepIndex]!;
  const c = summariseStream(e.candidate);
  const b = summariseStream(e.baseline);
  return [
    guards.accuracy ? accuracy(guards.accuracy, spec, step, e, c, b) : OFF('accuracy'),
    guards.psi ? psi(guards.psi, e) : OFF('psi'),
    guards.errors ? errors(guards.errors, spec, c, b) : OFF('errors'),
    guards.latency ? latency(guards.latency, c, b) : OFF('latency'),
    guards.agreement ? agreement(guards.agreement, step, c) : OFF('agreement'),
  ];
}
