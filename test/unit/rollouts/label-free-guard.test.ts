/**
 * The accuracy guard's label-free test (guards.accuracy.label_free_min_predictions): the same sequential test on
 * the drift reports' expected accuracies while labels are missing. Its error rates under the assumption that
 * calibration holds are pinned in simulation.test.ts (scenarios "label-free, ...").
 */
import { describe, expect, it } from 'vitest';
import { addReport, emptyEvidence, stepStreams, type StepEvidence } from '../../../rollouts/evidence.ts';
import { calibratedEstimate, evaluateGuards, type GuardResult } from '../../../rollouts/guards.ts';
import { checkRolloutSpec, type RolloutSpec } from '../../../rollouts/spec.ts';
import { declaration, report } from './fixtures.ts';

const labelFree = checkRolloutSpec({ ...declaration, guards: { ...declaration.guards, accuracy: { ...declaration.guards.accuracy, label_free_min_predictions: 300 } } });
const labelledOnly = checkRolloutSpec(declaration);
const DRIFTED = {
  input: [{ name: 'brightness', psi: 0.9, severity: 'significant' }],
  // v2 under Gaussian noise sd 20: inputs looked unchanged, its confidence did not.
  output: [{ name: 'brightness', psi: 0.01, severity: 'none' }, { name: 'confidence', psi: 0.4, severity: 'significant' }],
};

interface Window {
  expected: number;
  square_mean?: number;
  count?: number;
  labelled?: number;
  drifted?: keyof typeof DRIFTED;
}

/** Canary (25 %) evidence from windows of each version, unlabelled unless said. */
function canary(on: RolloutSpec, baseline: Window[], candidate: Window[]): StepEvidence {
  const e = emptyEvidence('v2-rollout.step-2', stepStreams(on, on.steps[1]!));
  const add = (version: string, windows: Window[]): void => windows.forEach((w, i) => {
    const count = w.count ?? 500;
    const labelled = w.labelled ?? 0;
    addReport(e, report({
      model_version: version, experiment_id: e.experiment_id, window_index: i, count, labeled_count: labelled, accuracy: labelled > 0 ? w.expected : null,
      expected_accuracy: w.expected, calibrated_count: count, calibrated_square_mean: w.square_mean ?? w.expected ** 2 + 0.02,
      ...(w.drifted ? { metrics: DRIFTED[w.drifted], severity: 'significant' } : {}),
    }));
  });
  add('v1', baseline);
  add('v2', candidate);
  return e;
}

const accuracy = (on: RolloutSpec, e: StepEvidence): GuardResult => evaluateGuards(on, 1, e).find((g) => g.name === 'accuracy')!;
const times = (n: number, w: Window): Window[] => Array.from({ length: n }, () => w);

describe('label-free accuracy guard', () => {
  it('is off by default: without labels the guard waits whatever the expected accuracies', () => {
    const g = accuracy(labelledOnly, canary(labelledOnly, times(10, { expected: 0.9 }), times(10, { expected: 0.5 })));
    expect(g.outcome).toBe('pending');
    expect(g.message).toMatch(/^waiting for labels/);
  });

  it('fails on a drop above the margin in the expected accuracies, saying what it assumes', () => {
    const g = accuracy(labelFree, canary(labelFree, times(2, { expected: 0.9 }), times(2, { expected: 0.6 })));
    expect(g.outcome).toBe('fail');
    expect(g.message).toMatch(/^label-free \(no labels: candidate 0, baseline 0 of 30 each\): candidate expected 60\.0% vs baseline 90\.0% .* if calibration transfers to this traffic/);
    expect(g.statistics).toMatchObject({ label_free: 1, candidate_calibrated: 1000, baseline_calibrated: 1000 });
    // Two tests share the step's levels: alpha 0.05 over 3 steps, half for the bound, half again for the label-free test.
    expect(g.statistics.alpha_step).toBeCloseTo(0.05 / 12, 10);
    expect(g.statistics.beta).toBeCloseTo(0.025, 10);
  });

  it('passes once a drop of the margin is ruled out, and waits below label_free_min_predictions', () => {
    expect(accuracy(labelFree, canary(labelFree, times(20, { expected: 0.9 }), times(20, { expected: 0.9 }))).outcome).toBe('pass');
    const early = accuracy(labelFree, canary(labelFree, [{ expected: 0.9, count: 200 }], [{ expected: 0.5, count: 200 }]));
    expect(early.outcome).toBe('pending');
    expect(early.message).toContain('calibrated predictions (label-free): candidate 200, baseline 200 of 300 each');
  });

  it.each(['input', 'output'] as const)('leaves out windows whose %s PSI is significant', (kind) => {
    const e = canary(labelFree, times(2, { expected: 0.9 }), [{ expected: 0.6, drifted: kind }, { expected: 0.6, drifted: kind }]);
    const g = accuracy(labelFree, e);
    expect(g.outcome).toBe('pending');
    expect(g.statistics).toMatchObject({ candidate_calibrated: 0, windows_left_out: 2 });
    expect(g.message).toContain('2 windows with drifted inputs or outputs left out');
  });

  it('hands over to the labelled test once both sides have min_samples labels', () => {
    // Expected accuracies say 60 % against 90 %; the labels say equal.
    const g = accuracy(labelFree, canary(labelFree, times(2, { expected: 0.9, labelled: 100 }), times(2, { expected: 0.9, labelled: 100, square_mean: 0.4 })));
    expect(g.statistics.label_free).toBeUndefined();
    expect(g.message).toMatch(/^candidate 90\.0%/);
  });

  it('rolls back when the step\'s budget of predictions runs out undecided', () => {
    const budget = checkRolloutSpec({
      ...declaration, steps: declaration.steps.map((s) => ({ ...s, max_labelled: 7000 })),
      guards: { ...declaration.guards, accuracy: { ...declaration.guards.accuracy, label_free_min_predictions: 300 } },
    });
    const g = accuracy(budget, canary(budget, times(14, { expected: 0.9 }), times(14, { expected: 0.85, square_mean: 0.85 })));
    expect(g.outcome).toBe('fail');
    expect(g.message).toContain("still not ruled out after the step's budget of 7000 predictions");
  });

  it('shrinks the estimate so that identical probabilities keep a width, and adds the sticky design effect', () => {
    const same = calibratedEstimate({ count: 30, sum: 30, squares: 30, left_out: 0 }, 0, 0);
    expect(same.p).toBeCloseTo(31 / 32, 12);
    expect(same.variance).toBeGreaterThan(0);
    const plain = calibratedEstimate({ count: 1000, sum: 900, squares: 830, left_out: 0 }, 0, 0);
    const sticky = calibratedEstimate({ count: 1000, sum: 900, squares: 830, left_out: 0 }, 20, 0.3);
    // 1000 predictions from 20 users at correlation 0.3: (0.3 / 20 + 0.7 / 1002) / (1 / 1002), about 15.7 times the variance.
    expect(sticky.variance / plain.variance).toBeCloseTo(1002 * (0.3 / 20 + 0.7 / 1002), 6);
  });
});
