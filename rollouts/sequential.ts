/**
 * The sequential test behind the accuracy and errors guards. Pure.
 *
 * A guard watches a harm h (accuracy: baseline minus candidate accuracy; errors: candidate minus baseline
 * dead-letter rate) against its margin δ, and asks two one-sided questions about it, each with an anytime-valid
 * confidence bound (a confidence sequence), so looking after every window costs nothing:
 * - harm above the margin established: lower bound of h above δ at level `alpha` per step (roll back);
 * - harm of the margin ruled out: upper bound of h below δ at level `beta` (pass).
 * The bound is the one-sided normal-mixture boundary of Howard, Ramdas, McAuliffe and Sekhon (2021,
 * "Time-uniform, nonparametric, nonasymptotic confidence sequences", eq. 14) in information time
 * I = 1 / Var(ĥ): with S = I (ĥ − h) approximately a Brownian motion in I, P(∃ I: S ≥ u(I)) ≤ a for
 *   u(I) = sqrt(2 (I + ρ) log( sqrt((I + ρ) / ρ) / (2a) + 1 )),
 * so ĥ ± u(I) / I holds at every look at once (asymptotically: the variance is estimated, as in Waudby-Smith et
 * al.'s asymptotic confidence sequences). ρ only decides where the boundary is tightest; it is fixed by the
 * settings (never by the data), at the information where a fixed-sample test would just resolve δ.
 *
 * Proportions are shrunk Agresti–Caffo style (one success and one failure added per arm) for the estimate and
 * its variance, so 30 of 30 on both sides still has a width. With clusters (sticky users) an arm's variance is
 * that of a mean over users: p(1 − p) (ρᵤ / users + (1 − ρᵤ) / n) for a within-user correlation ρᵤ, or the
 * cluster-robust (CR1) variance over the arm's windows if that is larger.
 */
import { normalCdf, normalQuantile } from '../drift-monitor/analytics/stats.ts';

/** Counts of one arm: `events` of `trials` (correct of labelled, or dead letters of requests). */
export interface ArmCounts {
  events: number;
  trials: number;
  /** Per-window counts (for the cluster-robust variance); may be left out. */
  windows?: readonly { events: number; trials: number }[];
  /** Clustering: users the arm's labels come from, and their within-user correlation; 0 users = unknown. */
  users?: number;
  user_correlation?: number;
}

/** Windows needed before their spread is trusted as a variance (fewer clusters give a noisy estimate). */
export const MIN_WINDOWS_FOR_CLUSTER_VARIANCE = 10;

/** Shrunk proportion and the variance of its mean for one arm. */
export function armEstimate(a: ArmCounts): { p: number; variance: number } {
  const p = (a.events + 1) / (a.trials + 2);
  const perTrial = p * (1 - p);
  const n = a.trials + 2;
  const rho = a.user_correlation ?? 0;
  const users = a.users ?? 0;
  // Equal-size clusters: Var = p(1-p)(1 + (m - 1)ρ) / n with m = n / users, i.e. p(1-p)(ρ / users + (1 - ρ) / n).
  let variance = users > 0 && rho > 0 ? perTrial * (rho / Math.min(users, n) + (1 - rho) / n) : perTrial / n;
  const windows = a.windows ?? [];
  if (windows.length >= MIN_WINDOWS_FOR_CLUSTER_VARIANCE && a.trials > 0) {
    const mean = a.events / a.trials;
    const squares = windows.reduce((s, w) => s + (w.events - mean * w.trials) ** 2, 0);
    const robust = (windows.length / (windows.length - 1)) * squares / a.trials ** 2;
    variance = Math.max(variance, robust);
  }
  return { p, variance };
}

/** The mixture parameter that makes the level-`a` boundary tightest at information `m` (Howard et al., §3.5). */
export function mixtureRho(m: number, a: number): number {
  const l = -2 * Math.log(a);
  return m / (l + Math.log(1 + l));
}

/** Information at which a fixed-sample one-sided level-`a` test just resolves `margin`; the boundary is tuned there. */
export function tuningInformation(margin: number, a: number): number {
  // The confidence sequence is wider than a fixed-sample interval: it reaches the margin at about 3 times
  // this information, where the tuning puts its tightest point. Not critical: tuning at 1.5 or 6 times changed
  // the labels the simulated scenarios took by under 10 % (npm run rollout -- simulate).
  return 3 * (normalQuantile(1 - a) / margin) ** 2;
}

/** Half-width u(I) / I of the one-sided level-`a` confidence sequence at information `information`. */
export function halfWidth(information: number, a: number, rho: number): number {
  if (!(information > 0)) return Infinity;
  const v = information + rho;
  return Math.sqrt(2 * v * Math.log(Math.sqrt(v / rho) / (2 * a) + 1)) / information;
}

/**
 * Anytime-valid p-value of "h ≤ margin" given an estimate ĥ with information I: the smallest level at which
 * the lower bound is above the margin (with the boundary tuned for level `a`).
 */
export function anytimePValue(estimate: number, information: number, margin: number, rho: number): number {
  const excess = (estimate - margin) * information;
  if (!(excess > 0) || !(information > 0)) return 1;
  const v = information + rho;
  const growth = Math.expm1((excess * excess) / (2 * v));
  return Math.min(1, Math.sqrt(v / rho) / (2 * growth));
}

export interface HarmTest {
  /** Harm estimate (shrunk) and its standard error. */
  estimate: number;
  standard_error: number;
  /** Anytime-valid bounds: lower at level `alpha`, upper at level `beta`. */
  lower: number;
  upper: number;
  /** Anytime-valid p-value of "harm ≤ margin". */
  p_value: number;
  outcome: 'harmful' | 'acceptable' | 'undecided';
}

export interface HarmLevels {
  margin: number;
  /** Per-step level of the "harm above the margin" claim. */
  alpha: number;
  /** Level of the "harm below the margin" claim. */
  beta: number;
}

/** The two bounds and the outcome for a harm estimate with its variance. */
export function harmTest(estimate: number, variance: number, levels: HarmLevels): HarmTest {
  const information = variance > 0 ? 1 / variance : Infinity;
  const rhoLow = mixtureRho(tuningInformation(levels.margin, levels.alpha), levels.alpha);
  const rhoHigh = mixtureRho(tuningInformation(levels.margin, levels.beta), levels.beta);
  const lower = estimate - halfWidth(information, levels.alpha, rhoLow);
  const upper = estimate + halfWidth(information, levels.beta, rhoHigh);
  const outcome = lower > levels.margin ? 'harmful' : upper < levels.margin ? 'acceptable' : 'undecided';
  return { estimate, standard_error: Math.sqrt(variance), lower, upper, p_value: anytimePValue(estimate, information, levels.margin, rhoLow), outcome };
}

/** Harm `first − second` of two arms' rates (accuracy: baseline, candidate; errors: candidate, baseline). */
export function compareArms(first: ArmCounts, second: ArmCounts, levels: HarmLevels): HarmTest {
  const a = armEstimate(first);
  const b = armEstimate(second);
  return harmTest(a.p - b.p, a.variance + b.variance, levels);
}

export interface PlanInput extends HarmLevels {
  /** The rate both arms are expected at (planning only). */
  rate: number;
  /** Baseline trials per candidate trial at the step (shadow and 100 %: 1; a 25 % step: 3). */
  baseline_per_candidate: number;
  /** Users of each arm at the step (0: unknown, no clustering assumed) and their within-user correlation. */
  candidate_users: number;
  baseline_users: number;
  user_correlation: number;
}

/**
 * Chance that a candidate exactly as good as the baseline has ruled out the margin by the time it has
 * `n` trials: at least P(ĥ + width < δ) at that point (it may have passed earlier).
 */
export function passChanceAt(n: number, plan: PlanInput): number {
  const arm = (trials: number, users: number): number => armEstimate({ events: plan.rate * trials, trials, users, user_correlation: plan.user_correlation }).variance;
  const variance = arm(n, plan.candidate_users) + arm(n * plan.baseline_per_candidate, plan.baseline_users);
  const information = 1 / variance;
  const width = halfWidth(information, plan.beta, mixtureRho(tuningInformation(plan.margin, plan.beta), plan.beta));
  return normalCdf((plan.margin - width) * Math.sqrt(information));
}

/**
 * Candidate trials a step needs so that an equally good candidate has passed with probability `power`; null
 * when no number of trials gets there (clustered users cap the information).
 */
export function trialsNeeded(plan: PlanInput, power: number, limit = 1e8): number | null {
  if (passChanceAt(limit, plan) < power) return null;
  let low = 1;
  let high = 2;
  while (passChanceAt(high, plan) < power) high *= 2;
  while (high - low > 1) {
    const mid = Math.floor((low + high) / 2);
    if (passChanceAt(mid, plan) >= power) high = mid;
    else low = mid;
  }
  return high;
}
