import { describe, expect, it } from 'vitest';
import { addDeadLetter, addReport, emptyEvidence, stepStreams, summariseStream, type StepEvidence } from '../../../rollouts/evidence.ts';
import { evaluateGuards, type GuardResult } from '../../../rollouts/guards.ts';
import { checkRolloutSpec, type RolloutStep } from '../../../rollouts/spec.ts';
import { deadLetter, declaration, report } from './fixtures.ts';

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

describe('accuracy guard', () => {
  it('fails on a significantly less accurate candidate (one-sided z-test), with the numbers behind it', () => {
    const g = guard(evaluateGuards(spec.guards, canary, canaryWith([90], [10])), 'accuracy');
    expect(g.outcome).toBe('fail');
    expect(g.statistics).toMatchObject({ baseline_accuracy: 0.9, candidate_accuracy: 0.1, baseline_labelled: 100, candidate_labelled: 100 });
    // Pooled p = 0.5, SE = sqrt(0.25 * 2/100) = 0.0707: z = 0.8 / 0.0707 = 11.31.
    expect(g.statistics.z).toBeCloseTo(11.3137, 3);
    expect(g.statistics.p_value).toBeLessThan(1e-20);
    expect(g.message).toMatch(/^candidate 10\.0% \(10\/100\) vs baseline 90\.0% \(90\/100\): significantly lower \(one-sided z = 11\.31, p < 0\.001 < α 0\.05\)$/);
  });

  it('passes once a drop of the minimum detectable difference is ruled out, and waits in between', () => {
    // 3 × 100 labels each at 93 % vs 90 %: shortfall −3 pp, SE ≈ 2.25 pp, upper bound ≈ −3 + 1.645 · 2.25 ≈ 0.7 pp < 5 pp.
    const pass = guard(evaluateGuards(spec.guards, canary, canaryWith([90, 90, 90], [93, 93, 93])), 'accuracy');
    expect(pass.outcome).toBe('pass');
    expect(pass.statistics.shortfall_upper_bound).toBeCloseTo(-0.03 + 1.6449 * Math.sqrt((0.9 * 0.1 + 0.93 * 0.07) / 300), 4);
    // 88 % vs 90 % on 100 each: pooled SE 4.42 pp, z = 0.45, p = 0.326: not significant, but a 5 pp drop is within the bound (≈ 9 pp).
    const wait = guard(evaluateGuards(spec.guards, canary, canaryWith([90], [88])), 'accuracy');
    expect(wait.outcome).toBe('pending');
    expect(wait.statistics.p_value).toBeCloseTo(0.3256, 3);
    const few = guard(evaluateGuards(spec.guards, canary, canaryWith([90], [5], { count: 20, labeled_count: 20 })), 'accuracy');
    expect(few).toMatchObject({ outcome: 'pending', message: 'waiting for labels: candidate 20, baseline 100 of 30 each' });
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
    const g = guard(evaluateGuards(spec.guards, canary, psiWindows(['stable', 'significant', 'significant'])), 'psi');
    expect(g).toMatchObject({ outcome: 'fail', observed: 1.7, statistics: { windows_judged: 3, significant_windows: 2, longest_significant_run: 2 } });
    expect(g.message).toBe('candidate PSI significant (brightness) in 2 windows in a row of 3; max PSI 1.700 (brightness, window 1)');
  });

  it('passes isolated significant windows, ignores small and reference-less windows', () => {
    expect(guard(evaluateGuards(spec.guards, canary, psiWindows(['significant', 'stable', 'significant'])), 'psi').outcome).toBe('pass');
    expect(guard(evaluateGuards(spec.guards, canary, psiWindows(['significant', 'significant'], 20)), 'psi').outcome).toBe('pending');
    const warmup = evidence(canary, 'v2-rollout.step-2');
    addReport(warmup, report({ experiment_id: warmup.experiment_id, metrics: [], severity: 'stable' }));
    expect(guard(evaluateGuards(spec.guards, canary, warmup), 'psi').outcome).toBe('pending');
  });
});

describe('errors, latency and agreement guards', () => {
  it('errors: candidate dead-letter rate at most the baseline\'s plus the margin; a redelivered dead letter counts once', () => {
    const e = canaryWith([90], [90]);
    for (const offset of [1, 2, 3, 3]) addDeadLetter(e, deadLetter(offset));
    addDeadLetter(e, deadLetter(9, { model_version: 'v1' }));
    addDeadLetter(e, deadLetter(10, {}, { 'x-experiment-id': 'another' }));
    const g = guard(evaluateGuards(spec.guards, canary, e), 'errors');
    // Candidate 3 / 103 = 2.9 %, baseline 1 / 101 = 1.0 % + 2 % margin = 3.0 %: within.
    expect(g.outcome).toBe('pass');
    expect(g.observed).toBeCloseTo(3 / 103, 6);
    expect(g.limit).toBeCloseTo(1 / 101 + 0.02, 6);
    addDeadLetter(e, deadLetter(4));
    expect(guard(evaluateGuards(spec.guards, canary, e), 'errors').outcome).toBe('fail');
  });

  it('latency: weighted p95 of the candidate at most p95_ratio × the baseline\'s', () => {
    const ok = canaryWith([90], [90], { latency_p95_ms: 140 });
    expect(guard(evaluateGuards(spec.guards, canary, ok), 'latency')).toMatchObject({ outcome: 'pass', observed: 140, limit: 150 });
    const slow = canaryWith([90], [90, 90], { latency_p95_ms: 160 });
    expect(guard(evaluateGuards(spec.guards, canary, slow), 'latency').outcome).toBe('fail');
    expect(summariseStream(slow.candidate)).toMatchObject({ windows: 2, predictions: 200, latency_p95_ms: 160 });
  });

  it('agreement: only at shadow steps, on the candidate shadow windows\' pairs', () => {
    expect(guard(evaluateGuards(spec.guards, canary, canaryWith([90], [90])), 'agreement').outcome).toBe('off');
    const e = evidence(shadowStep, 'v2-rollout.step-1');
    addReport(e, report({ variant: 'shadow', window_index: 0, agreement_compared: 40, agreement_agreed: 30 }));
    expect(guard(evaluateGuards(spec.guards, shadowStep, e), 'agreement')).toMatchObject({ outcome: 'pending' });
    addReport(e, report({ variant: 'shadow', window_index: 1, agreement_compared: 40, agreement_agreed: 30 }));
    expect(guard(evaluateGuards(spec.guards, shadowStep, e), 'agreement')).toMatchObject({ outcome: 'fail', observed: 0.75, limit: 0.8 });
    addReport(e, report({ variant: 'shadow', window_index: 1, agreement_compared: 40, agreement_agreed: 38 })); // the same window again, replaced
    expect(guard(evaluateGuards(spec.guards, shadowStep, e), 'agreement')).toMatchObject({ outcome: 'pass', observed: 68 / 80 });
  });
});
