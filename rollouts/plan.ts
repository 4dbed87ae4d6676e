/**
 * The design of a rollout's sequential guards, from its declaration: the level of each claim at each step, the
 * users behind each arm, and the labels a step needs. Pure.
 *
 * Error budget: a candidate as good as the baseline is rolled back if any step rolls it back, so `alpha` is
 * split over the K steps (union bound); each step's half goes to the lower bound crossing the margin and half
 * to the label budget running out (`max_labelled`). A candidate worse by the margin is promoted only if every
 * step passes it, so each step may use the whole `beta`: the rollout's chance is at most any one step's.
 */
import { trialsNeeded, type HarmLevels, type PlanInput } from './sequential.ts';
import type { AccuracyGuard, ErrorGuard, RolloutSpec, RolloutStep } from './spec.ts';

export function stepLevels(guard: AccuracyGuard | ErrorGuard, margin: number, steps: number): HarmLevels {
  // With the label-free test on, it and the labelled test each get half of the step's levels (union bound).
  const tests = 'label_free_min_predictions' in guard && guard.label_free_min_predictions > 0 ? 2 : 1;
  return { margin, alpha: guard.alpha / (2 * steps * tests), beta: guard.beta / tests };
}

export interface StepArms {
  /** Baseline labels per candidate label: both see every request at a shadow step and at 100 %. */
  baseline_per_candidate: number;
  /** Users behind each arm (0: unknown or not sticky, labels taken as independent). */
  candidate_users: number;
  baseline_users: number;
  user_correlation: number;
}

export function stepArms(spec: Pick<RolloutSpec, 'sticky_by'>, guard: AccuracyGuard, step: RolloutStep): StepArms {
  const paired = step.shadow || step.weight >= 100;
  const share = paired ? 1 : step.weight / 100;
  const clustered = spec.sticky_by !== null && guard.users > 0 && guard.user_correlation > 0;
  // `users` is the fewest users either version sees in a step: a lower bound for both arms.
  const users = clustered ? guard.users : 0;
  return {
    baseline_per_candidate: paired ? 1 : (1 - share) / share,
    candidate_users: users,
    baseline_users: users,
    user_correlation: clustered ? guard.user_correlation : 0,
  };
}

function planOf(spec: Pick<RolloutSpec, 'sticky_by' | 'steps'>, guard: AccuracyGuard, stepIndex: number): PlanInput {
  return { ...stepLevels(guard, guard.min_detectable_difference, spec.steps.length), ...stepArms(spec, guard, spec.steps[stepIndex]!), rate: guard.expected_accuracy };
}

/**
 * Labelled candidate predictions the step needs for a candidate exactly as accurate as the baseline to have
 * passed with probability 1 − alpha / (2K) (running out of labels rolls back: that share of alpha pays for
 * it); null when no number is enough (too few users for the margin).
 */
export function labelsNeeded(spec: Pick<RolloutSpec, 'sticky_by' | 'steps'>, guard: AccuracyGuard, stepIndex: number): number | null {
  const plan = planOf(spec, guard, stepIndex);
  const needed = trialsNeeded(plan, 1 - plan.alpha);
  return needed === null ? null : Math.max(needed, guard.min_samples);
}

/** Whether an equally accurate candidate passes the step with probability 1 − beta at all, whatever the labels. */
export function canPass(spec: Pick<RolloutSpec, 'sticky_by' | 'steps'>, guard: AccuracyGuard, stepIndex: number): boolean {
  const plan = planOf(spec, guard, stepIndex);
  return trialsNeeded(plan, 1 - plan.beta) !== null;
}

/** Settings that cannot reach a decision with the traffic declared: [field, problem]. */
export function feasibilityProblems(spec: Pick<RolloutSpec, 'sticky_by' | 'steps' | 'guards'>): [string, string][] {
  const guard = spec.guards.accuracy;
  if (!guard) return [];
  const problems: [string, string][] = [];
  if (spec.sticky_by !== null && guard.user_correlation > 0 && guard.users === 0) {
    problems.push(['guards.accuracy.users', 'needed with user_correlation: the number of stickiness keys sending labelled requests in a step']);
  }
  const assumed = `margin ${guard.min_detectable_difference}, alpha ${guard.alpha} over ${spec.steps.length} steps, beta ${guard.beta}, expected accuracy ${guard.expected_accuracy}`;
  spec.steps.forEach((step, i) => {
    if (!canPass(spec, guard, i)) {
      problems.push(['guards.accuracy.users', `${guard.users} users with correlation ${guard.user_correlation} cannot rule out a drop of the margin at step ${i + 1} "${step.name}" with any number of labels (${assumed}): more users or a larger min_detectable_difference`]);
      return;
    }
    if (step.max_labelled === 0) return;
    const needed = labelsNeeded(spec, guard, i);
    if (needed === null || step.max_labelled < needed) {
      const what = needed === null ? `more users than ${guard.users} (no label budget is enough)` : `about ${needed} labelled candidate predictions at this step`;
      problems.push([`steps[${i}].max_labelled`, `an equally accurate candidate needs ${what} to pass before the budget runs out (${assumed}); got ${step.max_labelled}`]);
    }
  });
  return problems;
}

/**
 * One line per step: the labels an equally accurate candidate typically needs to pass it (half the time), the
 * budget that passes it with probability 1 − alpha / (2K), and the step's own budget.
 */
export function describePlan(spec: Pick<RolloutSpec, 'sticky_by' | 'steps' | 'guards'>): string[] {
  const guard = spec.guards.accuracy;
  if (!guard) return ['accuracy guard off: no labels needed'];
  const lines = spec.steps.map((step, i) => {
    const typical = trialsNeeded(planOf(spec, guard, i), 0.5);
    const needed = labelsNeeded(spec, guard, i);
    const budget = step.max_labelled > 0 ? `max_labelled ${step.max_labelled}` : 'max_labelled 0 (waits while undecided)';
    return `step ${i + 1} "${step.name}": an equally accurate candidate passes after about ${typical ?? '∞'} labelled candidate predictions (half the time), `
      + `${needed ?? '∞'} to pass with probability ${(1 - stepLevels(guard, guard.min_detectable_difference, spec.steps.length).alpha).toFixed(4)}; ${budget}`;
  });
  return [...lines, `(margin ${guard.min_detectable_difference}, alpha ${guard.alpha}, beta ${guard.beta}, expected accuracy ${guard.expected_accuracy}; a better candidate needs fewer)`];
}
