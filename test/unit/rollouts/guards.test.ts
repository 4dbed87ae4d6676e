import { describe, expect, it } from 'vitest';
import { addDeadLetter, addReport, emptyEvidence, stepStreams, summariseStream, type StepEvidence } from '../../../rollouts/evidence.ts';
import { evaluateGuards, type GuardResult } from '../../../rollouts/guards.ts';
import { checkRolloutSpec, type RolloutStep } from '../../../rollouts/spec.ts';
import { deadLetter, declaration, report, T0 } from './fixtures.ts';

const spec = checkRolloutSpec({ ...declaration, guards: { ...declaration.guards, errors: { margin: 0.02, min_samples: 50 }, latency: { p95_ratio: 1.5 }, psi: { consecutive_windows: 2, min_window_predictions: 50 } } });
const canary = spec.steps[1]!;
const shadowStep = spec.steps[0]!;

function evidence(step: RolloutStep, experimentId: string): StepEvidence {
  return emptyEvidence(experimentId, stepStreams(spec, step));
}

function guard(results: GuardResult[], name: string): GuardResult {
  return results.find((g) => g.name === name)!;
}

/** Canary evidence: baseline v1 and candidate v2 served windows with the given correct counts out of 100 each. */
function canaryWith(baselineCorrect: number[], candidateCorrect: number[], candidate: Parameters<typeof report>[0] = {}): StepEvidence {
  const e = evidence(canary, 'v2-rollout.step-2');
  baselineCorrect.forEach((c, i) => addReport(e, report({ model_version: 'v1', experiment_id: e.experiment_id, window_index: i, accuracy: c / 100 })));
  candidateCorrect.forEach((c, i) => addReport(e, report({ experiment_id: e.experiment_id, window_index: i, accuracy: c / 100, ...candidate })));
  return e;
}

/** Canary evidence from windows of `size` labelled predictions each: [baseline correct per window], [candidate …]. */
function windowsOf(baselineCorrect: number[], candidateCorrect: number[], size: number, on = spec): StepEvidence {
  const e = emptyEvidence('v2-rollout.step-2', stepStreams(on, canary));
  const add = (version: string, correct: number[]): void => correct.forEach((c, i) => addReport(e, report({
    model_version: version, experiment_id: e.experiment_id, window_index: i, count: size, labeled_count: size, accuracy: c / size,
  })));
  add('v1', baselineCorrect);
  add('v2', candidateCorrect);
  return e;
}

describe('accuracy guard (sequential test of the drop against the margin)', () => {
  it('fails once a drop above the margin is established, with an anytime p-value at the per-step level', () => {
    const g = guard(evaluateGuards(spec, 1, canaryWith([90], [10])), 'accuracy');
    expect(g.outcome).toBe('fail');
    expect(g.statistics).toMatchObject({ baseline_accuracy: 0.9, candidate_accuracy: 0.1, baseline_labelled: 100, candidate_labelled: 100, margin: 0.05 });
    // alpha 0.05 over 3 steps, half of each step's share for the bound: 0.05 / 6.
    expect(g.statistics.alpha_step).toBeCloseTo(0.05 / 6, 10);
    expect(g.statistics.harm_lower_bound).toBeGreaterThan(0.05);
    expect(g.statistics.p_value).toBeLessThan(1e-6);
    expect(g.message).toMatch(/^candidate 10\.0% \(10\/100\) vs baseline 90\.0% \(90\/100\): a drop above the 5\.0 pp margin is established \(bounds /);
  });

  it('does not roll back a drop inside the margin: it passes once a drop of the margin is ruled out', () => {
    // 88 % against 90 % on 10 000 labels each: a 2-point drop, far from 0 (z ≈ 4.5, the old test failed it) but
    // inside the 5-point margin.
    const g = guard(evaluateGuards(spec, 1, windowsOf(Array(10).fill(900), Array(10).fill(880), 1000)), 'accuracy');
    expect(g.outcome).toBe('pass');
    expect(g.statistics.harm_upper_bound).toBeLessThan(0.05);
    expect(g.statistics.harm_lower_bound).toBeGreaterThan(0);
  });

  it('waits while the drop is neither established nor ruled out, and before min_samples', () => {
    const wait = guard(evaluateGuards(spec, 1, canaryWith([90], [88])), 'accuracy');
    expect(wait.outcome).toBe('pending');
    expect(wait.message).toMatch(/a drop of 5\.0 pp is neither established nor ruled out yet/);
    const few = guard(evaluateGuards(spec, 1, canaryWith([90], [5], { count: 20, labeled_count: 20 })), 'accuracy');
    expect(few).toMatchObject({ outcome: 'pending', message: 'waiting for labels: candidate 20, baseline 100 of 30 each' });
  });

  it('does not collapse at 100 %: 30 of 30 on both sides is no proof that a 5-point drop is ruled out', () => {
    const g = guard(evaluateGuards(spec, 1, windowsOf([30], [30], 30)), 'accuracy');
    expect(g.outcome).toBe('pending');
    expect(g.statistics.standard_error).toBeGreaterThan(0.03);
  });

  it('rolls back when the step\'s label budget is spent undecided', () => {
    const budget = checkRolloutSpec({ ...declaration, steps: declaration.steps.map((st) => ({ ...st, max_labelled: 0 })) });
    const capped = { ...budget, steps: budget.steps.map((st) => ({ ...st, max_labelled: 100 })) };
    const e = windowsOf([90], [86], 100, capped);
    expect(guard(evaluateGuards(budget, 1, e), 'accuracy').outcome).toBe('pending');
    const g = guard(evaluateGuards(capped, 1, e), 'accuracy');
    expect(g.outcome).toBe('fail');
    expect(g.message).toMatch(/a drop of 5\.0 pp is still not ruled out after the step's 100 labels/);
  });

  it('takes the user as the unit in a sticky rollout: declared users and correlation widen the bounds', () => {
    // 87 % against 90 % on 10 000 labels each: inside the 5-point margin if the labels are independent, not
    // shown if they come from 1 000 users whose answers correlate at 0.3 (design effect 1 + 9 × 0.3 = 3.7).
    const independent = guard(evaluateGuards(spec, 1, windowsOf(Array(10).fill(900), Array(10).fill(870), 1000)), 'accuracy');
    expect(independent.outcome).toBe('pass');
    const clustered = checkRolloutSpec({ ...declaration, guards: { ...declaration.guards, accuracy: { ...declaration.guards.accuracy, users: 1000, user_correlation: 0.3, expected_accuracy: 0.9 } } });
    const g = guard(evaluateGuards(clustered, 1, windowsOf(Array(10).fill(900), Array(10).fill(870), 1000, clustered)), 'accuracy');
    expect(g.outcome).toBe('pending');
    expect(g.statistics.standard_error! / independent.statistics.standard_error!).toBeCloseTo(Math.sqrt(3.7), 1);
  });

  it('uses the spread between windows (cluster-robust) when it is larger than the binomial one, in a sticky rollout only', () => {
    // The same totals (930 of 1000 against 900 of 1000), once spread evenly and once in lumps of 100 % and 86 %.
    const even = guard(evaluateGuards(spec, 1, windowsOf(Array(10).fill(90), Array(10).fill(93), 100)), 'accuracy');
    const lumpy = windowsOf(Array(10).fill(90), [100, 86, 100, 86, 100, 86, 100, 86, 100, 86], 100);
    const g = guard(evaluateGuards(spec, 1, lumpy), 'accuracy');
    expect(g.statistics.standard_error).toBeGreaterThan(1.3 * even.statistics.standard_error!);
    const bySplit = checkRolloutSpec({ ...declaration, sticky_by: null });
    const unclustered = guard(evaluateGuards(bySplit, 1, windowsOf(Array(10).fill(90), [100, 86, 100, 86, 100, 86, 100, 86, 100, 86], 100, bySplit)), 'accuracy');
    expect(unclustered.statistics.standard_error).toBeCloseTo(even.statistics.standard_error!, 10);
  });
});

describe('psi guard', () => {
  const psiWindows = (severities: string[], count = 100): StepEvidence => {
    const e = evidence(canary, 'v2-rollout.step-2');
    severities.forEach((s, i) => addReport(e, report({
      experiment_id: e.experiment_id, window_index: i, count, severity: s,
      metrics: [{ name: 'brightness', psi: s === 'significant' ? 1.7 : 0.05, severity: s }],
    })));
    return e;
  };

  it('fails on consecutive_windows significant windows in a row, naming the metrics', () => {
    const g = guard(evaluateGuards(spec, 1, psiWindows(['stable', 'significant', 'significant'])), 'psi');
    expect(g).toMatchObject({ outcome: 'fail', observed: 1.7, statistics: { windows_judged: 3, significant_windows: 2, longest_significant_run: 2 } });
    expect(g.message).toBe('candidate PSI significant (brightness) in 2 windows in a row of 3; max PSI 1.700 (brightness, window 1)');
  });

  it('passes isolated significant windows, ignores small and reference-less windows', () => {
    expect(guard(evaluateGuards(spec, 1, psiWindows(['significant', 'stable', 'significant'])), 'psi').outcome).toBe('pass');
    expect(guard(evaluateGuards(spec, 1, psiWindows(['significant', 'significant'], 20)), 'psi').outcome).toBe('pending');
    const warmup = evidence(canary, 'v2-rollout.step-2');
    addReport(warmup, report({ experiment_id: warmup.experiment_id, metrics: [], severity: 'stable' }));
    expect(guard(evaluateGuards(spec, 1, warmup), 'psi').outcome).toBe('pending');
  });
});

describe('errors, latency and agreement guards', () => {
  it('errors: the excess of dead letters against the margin; a redelivered dead letter counts once; other streams do not count', () => {
    const e = windowsOf(Array(5).fill(900), Array(5).fill(900), 1000);
    for (const offset of [1, 2, 3, 3]) addDeadLetter(e, deadLetter(offset));
    addDeadLetter(e, deadLetter(9, { model_version: 'v1' }));
    addDeadLetter(e, deadLetter(10, {}, { 'x-experiment-id': 'another' }));
    const g = guard(evaluateGuards(spec, 1, e), 'errors');
    // Candidate 3 / 5003, baseline 1 / 5001: an excess of 2 pp is ruled out.
    expect(g).toMatchObject({ outcome: 'pass', limit: 0.02 });
    expect(g.observed).toBeCloseTo(3 / 5003 - 1 / 5001, 6);
    for (let offset = 100; offset < 400; offset++) addDeadLetter(e, deadLetter(offset));
    expect(guard(evaluateGuards(spec, 1, e), 'errors').outcome).toBe('fail');
  });

  it('errors: dead letters count over the same time as the predictions of closed windows (0.8 % against 0.5 %, margin 1 pp)', () => {
    const tight = checkRolloutSpec({ ...declaration, guards: { ...declaration.guards, errors: { margin: 0.01 } } });
    const e = emptyEvidence('v2-rollout.step-2', stepStreams(tight, canary));
    for (let i = 0; i < 10; i++) {
      for (const version of ['v1', 'v2']) addReport(e, report({ model_version: version, experiment_id: e.experiment_id, window_index: i, count: 1000, window_end: T0 + i * 1000 }));
    }
    const lastEnd = T0 + 9 * 1000;
    // Over the closed windows: 80 of 10 080 (0.8 %) for the candidate, 50 of 10 050 (0.5 %) for the baseline; then 80
    // more candidate dead letters in the window still open (their predictions are not counted yet).
    for (let i = 0; i < 80; i++) addDeadLetter(e, deadLetter(i, { failed_at: lastEnd - i }));
    for (let i = 0; i < 80; i++) addDeadLetter(e, deadLetter(1000 + i, { failed_at: lastEnd + 1 + i }));
    for (let i = 0; i < 50; i++) addDeadLetter(e, deadLetter(2000 + i, { model_version: 'v1', failed_at: lastEnd - i }));
    expect(summariseStream(e.candidate).dead_letters).toBe(80);
    const g = guard(evaluateGuards(tight, 1, e), 'errors');
    expect(g.statistics).toMatchObject({ candidate_dead_letters: 80, baseline_dead_letters: 50 });
    expect(g.outcome).toBe('pass');
  });

  it('latency: weighted p95 of the candidate at most p95_ratio × the baseline\'s', () => {
    const ok = canaryWith([90], [90], { latency_p95_ms: 140 });
    expect(guard(evaluateGuards(spec, 1, ok), 'latency')).toMatchObject({ outcome: 'pass', observed: 140, limit: 150 });
    const slow = canaryWith([90], [90, 90], { latency_p95_ms: 160 });
    expect(guard(evaluateGuards(spec, 1, slow), 'latency').outcome).toBe('fail');
    expect(summariseStream(slow.candidate)).toMatchObject({ windows: 2, predictions: 200, latency_p95_ms: 160 });
  });

  it('agreement: only at shadow steps, on the candidate shadow windows\' pairs', () => {
    expect(guard(evaluateGuards(spec, 1, canaryWith([90], [90])), 'agreement').outcome).toBe('off');
    const e = evidence(shadowStep, 'v2-rollout.step-1');
    addReport(e, report({ variant: 'shadow', window_index: 0, agreement_compared: 40, agreement_agreed: 30 }));
    expect(guard(evaluateGuards(spec, 0, e), 'agreement')).toMatchObject({ outcome: 'pending' });
    addReport(e, report({ variant: 'shadow', window_index: 1, agreement_compared: 40, agreement_agreed: 30 }));
    expect(guard(evaluateGuards(spec, 0, e), 'agreement')).toMatchObject({ outcome: 'fail', observed: 0.75, limit: 0.8 });
    addReport(e, report({ variant: 'shadow', window_index: 1, agreement_compared: 40, agreement_agreed: 38 })); // the same window again, replaced
    expect(guard(evaluateGuards(spec, 0, e), 'agreement')).toMatchObject({ outcome: 'pass', observed: 68 / 80 });
  });
});
