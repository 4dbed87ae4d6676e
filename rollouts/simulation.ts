/**
 * Simulated rollouts through the real state machine and guards (machine.ts, guards.ts), to measure what the
 * sequential design promises: per whole four-step rollout (shadow, 25 %, 50 %, 100 %), how often a candidate is
 * rolled back or promoted, and how many labels and how long it took. Pure and seeded: the same seed gives the
 * same table.
 *
 * Traffic: labelled requests at `rate` per second; at a shadow step and at 100 % both versions see every
 * request, in between the candidate gets its weight's share (by user for a sticky scenario). A version's
 * requests either dead-letter (its dead-letter rate) or are predicted, correct with its accuracy (a sticky
 * user's own accuracy, drawn from a Beta distribution with the scenario's within-user correlation). Every
 * `window` predictions of a stream close a window: a DriftReport, then the controller evaluates its guards.
 *
 * Label-free scenarios: no label ever arrives; each prediction instead carries a calibrated top-1 probability
 * drawn from a Beta distribution whose mean is the version's accuracy (calibration holds, the assumption the
 * label-free test is valid under), and the accuracy guard runs on the reports' expected accuracies.
 */
import type { DeadLetterInput, DriftReportInput } from './evidence.ts';
import { stepStreams } from './evidence.ts';
import { stepExperimentId } from './experiments.ts';
import { applyCommand, applyDeadLetter, applyReport, createControllerState, evaluate, type Decision } from './machine.ts';
import { labelsNeeded } from './plan.ts';
import { checkRolloutSpec, DEFAULT_GUARDS, type RolloutSpec } from './spec.ts';

export type Goal = { outcome: 'rolled_back' | 'completed'; at_most: number } | { outcome: 'rolled_back' | 'completed'; at_least: number };

export interface Scenario {
  name: string;
  /** Accuracies of the baseline and the candidate. */
  baseline: number;
  candidate: number;
  /** The accuracy guard's margin (min_detectable_difference). */
  margin: number;
  goal: Goal;
  /** Sticky users: the fewest users either version sees in a step, and their within-user correlation. */
  users?: number;
  user_correlation?: number;
  /** Dead-letter rates and the errors guard's margin; without it the errors guard is off and nothing dead-letters. */
  errors?: { baseline: number; candidate: number; margin: number };
  /** No labels: the guard decides on calibrated probabilities (mean = accuracy) alone. */
  label_free?: boolean;
}

/** Calibrated predictions each side needs before the label-free test runs, in the label-free scenarios. */
const LABEL_FREE_MIN_PREDICTIONS = 200;
/** Beta concentration of the simulated calibrated probabilities: at 90 % mean, most near 1 and a long tail (variance a third of a label's). */
const CONFIDENCE_CONCENTRATION = 2;

export interface SimulationOptions {
  rollouts: number;
  seed: number;
  /** Labelled requests per second (all traffic). */
  rate: number;
}

export const DEFAULT_OPTIONS: SimulationOptions = { rollouts: 2000, seed: 1, rate: 40 };

const STEPS = [{ name: 'shadow', shadow: true }, { weight: 25 }, { weight: 50 }, { weight: 100 }];
const ALPHA = 0.05;
const BETA = 0.05;

/** The scenarios of issue 16: one group per accuracy level, a sticky group and the errors guard. */
export function defaultScenarios(): Scenario[] {
  const group = (label: string, base: number, margin: number, extra: Partial<Scenario> = {}): Scenario[] => [
    { name: `${label}: equal`, baseline: base, candidate: base, margin, goal: { outcome: 'rolled_back', at_most: 0.05 }, ...extra },
    { name: `${label}: worse by the margin`, baseline: base, candidate: base - margin, margin, goal: { outcome: 'completed', at_most: 0.05 }, ...extra },
    { name: `${label}: worse by twice the margin`, baseline: base, candidate: base - 2 * margin, margin, goal: { outcome: 'rolled_back', at_least: 0.95 }, ...extra },
    { name: `${label}: better by the margin`, baseline: base - margin, candidate: base, margin, goal: { outcome: 'completed', at_least: 0.9 }, ...extra },
  ];
  return [
    ...group('90 %, margin 3 pp', 0.9, 0.03),
    ...group('near 100 %, margin 1 pp', 0.995, 0.01),
    ...group('near 0 %, margin 1 pp', 0.025, 0.01),
    ...group('sticky 20 users, correlation 0.3, margin 30 pp', 0.9, 0.3, { users: 20, user_correlation: 0.3 }),
    ...group('label-free, 90 %, margin 3 pp', 0.9, 0.03, { label_free: true }),
    {
      name: 'errors: dead letters 0.8 % vs 0.5 %, margin 1 pp', baseline: 0.9, candidate: 0.9, margin: 0.03,
      goal: { outcome: 'rolled_back', at_most: 0.05 }, errors: { baseline: 0.005, candidate: 0.008, margin: 0.01 },
    },
  ];
}

/** sfc32: a small, fast, seedable generator (PractRand-clean); the same seed gives the same stream. */
export function prng(seed: number): () => number {
  let a = 0x9e3779b9;
  let b = 0x243f6a88;
  let c = 0xb7e15162;
  let d = seed >>> 0;
  const next = (): number => {
    const t = (((a + b) | 0) + d) | 0;
    d = (d + 1) | 0;
    a = b ^ (b >>> 9);
    b = (c + (c << 3)) | 0;
    c = (c << 21) | (c >>> 11);
    c = (c + t) | 0;
    return (t >>> 0) / 4294967296;
  };
  for (let i = 0; i < 15; i++) next();
  return next;
}

function normal(random: () => number): number {
  return Math.sqrt(-2 * Math.log(1 - random())) * Math.cos(2 * Math.PI * random());
}

/** Gamma(shape, 1) by Marsaglia and Tsang (shape < 1 through the boost U^(1/shape)). */
function gamma(shape: number, random: () => number): number {
  if (shape < 1) return gamma(shape + 1, random) * Math.pow(random(), 1 / shape);
  const d = shape - 1 / 3;
  const c = 1 / Math.sqrt(9 * d);
  for (;;) {
    const x = normal(random);
    const v = (1 + c * x) ** 3;
    if (v > 0 && Math.log(1 - random()) < 0.5 * x * x + d - d * v + d * Math.log(v)) return d * v;
  }
}

/** Beta with mean `p` and concentration a + b = `total`. */
function beta(p: number, total: number, random: () => number): number {
  const x = gamma(p * total, random);
  const y = gamma((1 - p) * total, random);
  return x / (x + y);
}

/** A user's accuracy: Beta with mean `p` and intra-class correlation `rho` (= 1 / (a + b + 1)). */
function userAccuracy(p: number, rho: number, random: () => number): number {
  if (p <= 0 || p >= 1) return p;
  return beta(p, (1 - rho) / rho, random);
}

/** The declaration a scenario runs: four steps, each with the label budget the planner gives it. */
export function scenarioSpec(s: Scenario): RolloutSpec {
  const accuracy = {
    ...DEFAULT_GUARDS.accuracy, alpha: ALPHA, beta: BETA, min_detectable_difference: s.margin,
    users: s.users ?? 0, user_correlation: s.user_correlation ?? 0, expected_accuracy: Math.max(s.baseline, s.candidate),
    label_free_min_predictions: s.label_free ? LABEL_FREE_MIN_PREDICTIONS : 0,
  };
  const base = {
    id: 'sim', baseline: 'v1', candidate: 'v2', sticky_by: s.users ? 'stickiness_key' : null,
    guards: { accuracy, psi: false, latency: false, agreement: false, errors: s.errors ? { ...DEFAULT_GUARDS.errors, alpha: ALPHA, beta: BETA, margin: s.errors.margin } : false },
  };
  const draft = checkRolloutSpec({ ...base, steps: STEPS });
  const steps = STEPS.map((step, i) => ({ ...step, max_labelled: labelsNeeded(draft, accuracy, i) ?? 0 }));
  return checkRolloutSpec({ ...base, steps });
}

export interface RolloutRun {
  outcome: 'completed' | 'rolled_back' | 'undecided';
  /** Labelled candidate predictions each step that ended took (promoted, completed or rolled back). */
  step_labels: number[];
  /** Candidate and baseline labels over the whole rollout. */
  labels: number;
  seconds: number;
  /** The guard(s) that rolled it back. */
  failed: string[];
}

/** Inputs do not drift in these scenarios: every window's PSI is stable. */
const STABLE = [{ name: 'predicted_class', psi: 0.01, severity: 'stable' }];

interface Stream {
  version: string;
  variant: string;
  count: number;
  correct: number;
  /** Sum of the calibrated probabilities and of their squares (label-free scenarios). */
  calibrated: number;
  squares: number;
  index: number;
  offset: number;
}

/**
 * One rollout of `spec` through the state machine; stops as undecided after `maxRequests` requests. Windows
 * have `window` predictions, or about a 40th of the step's label budget.
 */
export function simulateRollout(s: Scenario, spec: RolloutSpec, rate: number, random: () => number, o: { window?: number; maxRequests?: number } = {}): RolloutRun {
  const maxRequests = o.maxRequests ?? 5_000_000;
  const state = createControllerState();
  const clock = (now: number) => ({ now, updatedBy: 'simulation' });
  applyCommand(state, { command_id: 'start', rollout_id: spec.id, action: 'start', spec_json: JSON.stringify(spec), issued_by: 'simulation', issued_at: 0 }, clock(0));
  const users = s.users ?? 0;
  const rho = s.user_correlation ?? 0;
  const run: RolloutRun = { outcome: 'undecided', step_labels: [], labels: 0, seconds: 0, failed: [] };
  let stepIndex = 0;
  let request = 0;
  while (request < maxRequests) {
    const step = spec.steps[stepIndex]!;
    const streams = stepStreams(spec, step);
    const experimentId = stepExperimentId(spec, stepIndex);
    const fresh = { count: 0, correct: 0, calibrated: 0, squares: 0, index: 0, offset: 0 };
    const arms = { candidate: { ...streams.candidate, ...fresh }, baseline: { ...streams.baseline, ...fresh } };
    // Each step's users are new draws: sticky users of each version, with their own accuracies.
    const userAcc = {
      candidate: Array.from({ length: users }, () => userAccuracy(s.candidate, rho, random)),
      baseline: Array.from({ length: users }, () => userAccuracy(s.baseline, rho, random)),
    };
    const planned = step.max_labelled > 0 ? step.max_labelled : 1000;
    // About 40 windows in a step that needs its whole budget: every window is a look.
    const windowSize = o.window ?? Math.max(20, Math.ceil(planned / 40));
    let decision: Decision | undefined;
    while (!decision && request < maxRequests) {
      request += 1;
      const now = Math.round((request / rate) * 1000);
      const both = step.shadow || step.weight >= 100;
      const toCandidate = both || random() * 100 < step.weight;
      const targets: ('candidate' | 'baseline')[] = both ? ['candidate', 'baseline'] : [toCandidate ? 'candidate' : 'baseline'];
      for (const arm of targets) {
        const stream: Stream = arms[arm];
        const deadLetterRate = s.errors ? s.errors[arm] : 0;
        stream.offset += 1;
        if (deadLetterRate > 0 && random() < deadLetterRate) {
          const dead: DeadLetterInput = {
            original_topic: `images.requests.${stream.version}`, original_partition: 0, original_offset: stream.offset, model_version: stream.version, failed_at: now,
            original_headers: { 'x-experiment-id': experimentId, 'x-shadow': String(stream.variant === 'shadow') },
          };
          applyDeadLetter(state, dead);
          continue;
        }
        const p = users > 0 ? userAcc[arm][Math.floor(random() * users)]! : s[arm];
        stream.count += 1;
        if (s.label_free) {
          const c = beta(p, CONFIDENCE_CONCENTRATION, random);
          stream.calibrated += c;
          stream.squares += c * c;
        } else if (random() < p) {
          stream.correct += 1;
        }
        if (stream.count < windowSize) continue;
        const labelled = s.label_free ? 0 : stream.count;
        const report: DriftReportInput = {
          model_version: stream.version, variant: stream.variant, experiment_id: experimentId, window_index: stream.index, window_end: now,
          count: stream.count, metrics: STABLE, severity: 'stable', labeled_count: labelled, accuracy: labelled > 0 ? stream.correct / labelled : null, latency_p95_ms: 100,
          expected_accuracy: s.label_free ? stream.calibrated / stream.count : null, calibrated_count: s.label_free ? stream.count : 0,
          calibrated_square_mean: s.label_free ? stream.squares / stream.count : null,
          // Shadow windows pair with the served ones; agreement is not what is simulated, so it is always enough.
          agreement_compared: stream.variant === 'shadow' ? stream.count : 0, agreement_agreed: stream.variant === 'shadow' ? stream.count : 0,
        };
        applyReport(state, report);
        stream.index += 1;
        stream.count = 0;
        stream.correct = 0;
        stream.calibrated = 0;
        stream.squares = 0;
        decision ??= evaluate(state, clock(now))[0];
      }
    }
    if (!decision) break;
    const left = decision.candidate_stats;
    run.step_labels.push(left?.labelled ?? 0);
    run.labels += (left?.labelled ?? 0) + (decision.baseline_stats?.labelled ?? 0);
    run.seconds = request / rate;
    if (decision.decision === 'promoted') {
      stepIndex += 1;
      continue;
    }
    run.outcome = decision.decision === 'completed' ? 'completed' : 'rolled_back';
    run.failed = decision.guards.filter((g) => g.outcome === 'fail').map((g) => g.name);
    break;
  }
  return run;
}

const median = (xs: number[]): number | null => {
  if (xs.length === 0) return null;
  const sorted = [...xs].sort((a, b) => a - b);
  const mid = sorted.length >> 1;
  return sorted.length % 2 ? sorted[mid]! : (sorted[mid - 1]! + sorted[mid]!) / 2;
};

export interface ScenarioResult {
  scenario: string;
  baseline: number;
  candidate: number;
  margin: number;
  rollouts: number;
  rolled_back: number;
  completed: number;
  undecided: number;
  /** Share of the goal's outcome, and whether the goal holds. */
  goal: string;
  goal_share: number;
  goal_met: boolean;
  /** Planned label budget per step (max_labelled). */
  max_labelled: number[];
  /** Medians over the rollouts that ended as they should: candidate labels per step, all labels, seconds. */
  median_step_labels: (number | null)[];
  median_labels: number | null;
  median_seconds: number | null;
  /** Which guards rolled back, counted. */
  failed_by: Record<string, number>;
}

export function goalText(g: Goal): string {
  const what = g.outcome === 'rolled_back' ? 'rolled back' : 'promoted';
  return 'at_most' in g ? `${what} ≤ ${(g.at_most * 100).toFixed(0)} %` : `${what} ≥ ${(g.at_least * 100).toFixed(0)} %`;
}

export function simulateScenario(s: Scenario, o: SimulationOptions): ScenarioResult {
  const spec = scenarioSpec(s);
  const runs: RolloutRun[] = [];
  for (let i = 0; i < o.rollouts; i++) runs.push(simulateRollout(s, spec, o.rate, prng(o.seed * 1_000_003 + i)));
  const count = (outcome: RolloutRun['outcome']): number => runs.filter((r) => r.outcome === outcome).length;
  const share = count(s.goal.outcome) / o.rollouts;
  // Labels and time are those of the rollouts that ended as they should: an equal candidate promoted, one worse by the margin rolled back.
  const right = 'at_least' in s.goal ? s.goal.outcome : s.goal.outcome === 'completed' ? 'rolled_back' : 'completed';
  const chosen = runs.filter((r) => r.outcome === right);
  const failedBy: Record<string, number> = {};
  for (const r of runs) for (const g of r.failed) failedBy[g] = (failedBy[g] ?? 0) + 1;
  return {
    scenario: s.name, baseline: s.baseline, candidate: s.candidate, margin: s.margin, rollouts: o.rollouts,
    rolled_back: count('rolled_back'), completed: count('completed'), undecided: count('undecided'),
    goal: goalText(s.goal), goal_share: share, goal_met: 'at_most' in s.goal ? share <= s.goal.at_most : share >= s.goal.at_least,
    max_labelled: spec.steps.map((st) => st.max_labelled),
    median_step_labels: spec.steps.map((_, i) => median(chosen.filter((r) => r.step_labels.length > i).map((r) => r.step_labels[i]!))),
    median_labels: median(chosen.map((r) => r.labels)),
    median_seconds: median(chosen.map((r) => r.seconds)),
    failed_by: failedBy,
  };
}

const pctText = (x: number): string => `${(x * 100).toFixed(1)} %`;

/** The results as a fixed-width table. */
export function formatTable(results: ScenarioResult[]): string {
  const header = ['scenario', 'base', 'cand', 'rolled back', 'promoted', 'undecided', 'goal', 'met', 'median cand. labels per step', 'median labels', 'median time'];
  const rows = results.map((r) => [
    r.scenario, r.baseline.toFixed(3), r.candidate.toFixed(3), pctText(r.rolled_back / r.rollouts), pctText(r.completed / r.rollouts), pctText(r.undecided / r.rollouts),
    r.goal, r.goal_met ? 'yes' : 'NO', r.median_step_labels.map((x) => (x === null ? '-' : String(Math.round(x)))).join(' / '),
    r.median_labels === null ? '-' : String(Math.round(r.median_labels)), r.median_seconds === null ? '-' : `${Math.round(r.median_seconds)} s`,
  ]);
  const widths = header.map((h, i) => Math.max(h.length, ...rows.map((row) => row[i]!.length)));
  const line = (cells: string[]): string => cells.map((c, i) => c.padEnd(widths[i]!)).join('  ').trimEnd();
  return [line(header), line(widths.map((w) => '-'.repeat(w))), ...rows.map(line)].join('\n');
}
