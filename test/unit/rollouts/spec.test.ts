import { describe, expect, it } from 'vitest';
import { describePlan } from '../../../rollouts/plan.ts';
import { stepExperiment } from '../../../rollouts/experiments.ts';
import { DEFAULT_GUARDS, validateRolloutSpec } from '../../../rollouts/spec.ts';
import { declaration } from './fixtures.ts';

function errorsOf(input: unknown): string[] {
  const result = validateRolloutSpec(input);
  if (result.ok) throw new Error('expected validation to fail');
  return result.errors;
}

describe('validateRolloutSpec', () => {
  it('fills defaults: table, step names, guard settings', () => {
    const result = validateRolloutSpec({ id: 'r1', baseline: 'v1', candidate: 'v2', steps: [{ shadow: true }, { weight: 5 }, { weight: 100 }] });
    expect(result).toEqual({
      ok: true,
      spec: {
        id: 'r1', description: null, table: 'default', model: null, baseline: 'v1', candidate: 'v2', sticky_by: null,
        steps: [
          { name: 'shadow', weight: 0, shadow: true, min_duration_seconds: 0, min_labelled: 0, max_labelled: 0 },
          { name: '5%', weight: 5, shadow: false, min_duration_seconds: 0, min_labelled: 0, max_labelled: 0 },
          { name: '100%', weight: 100, shadow: false, min_duration_seconds: 0, min_labelled: 0, max_labelled: 0 },
        ],
        guards: DEFAULT_GUARDS,
      },
    });
  });

  it('accepts its own output (a validated spec is stored and validated again after a restart)', () => {
    const result = validateRolloutSpec(declaration);
    expect(result.ok && validateRolloutSpec(JSON.parse(JSON.stringify(result.spec)))).toEqual(result);
  });

  it('turns a guard off with false and merges partial guard settings with the defaults', () => {
    const result = validateRolloutSpec({ ...declaration, guards: { latency: false, accuracy: { alpha: 0.01 } } });
    expect(result.ok && result.spec.guards).toEqual({ ...DEFAULT_GUARDS, latency: null, accuracy: { ...DEFAULT_GUARDS.accuracy, alpha: 0.01 } });
  });

  it('drives a model\'s own table, keyed by its name, with experiments that name the model', () => {
    const result = validateRolloutSpec({ id: 'r1', model: 'text-orientation', baseline: 'v1', candidate: 'v2', steps: [{ weight: 100 }] });
    expect(result).toMatchObject({ ok: true, spec: { table: 'text-orientation', model: 'text-orientation' } });
    if (result.ok) expect(stepExperiment(result.spec, 0, 1, 'test')).toMatchObject({ model: 'text-orientation', versions: ['v1', 'v2'] });
    const wrong = validateRolloutSpec({ id: 'r1', model: 'text-orientation', table: 'default', baseline: 'v1', candidate: 'v2', steps: [{ weight: 100 }] });
    expect(wrong.ok ? [] : wrong.errors).toEqual(['table: model text-orientation\'s routing table is keyed by its name: leave table out or set it to "text-orientation"']);
  });

  it('names the field of every problem', () => {
    expect(errorsOf({
      id: 'has space', baseline: 'v1', candidate: 'v1', sticky_by: 'user', colour: 'red',
      steps: [{ weight: 5 }, { shadow: true, weight: 3 }, { weight: 0 }, { weight: 150, min_labelled: 1.5 }, {}],
      guards: { accuracy: { alpha: 0.9, mdd: 1 }, psi: 'strict', speed: {} },
    })).toEqual([
      'colour: unknown field; expected one of id, description, table, model, baseline, candidate, sticky_by, steps, guards',
      'id: must be 1 to 100 letters, digits, ".", "_" or "-"',
      'candidate: must differ from baseline "v1"',
      'sticky_by: unknown field "user"; expected uri | source | stickiness_key | request_id | pinned_version | metadata.<name> | header.<name>',
      'steps[1].weight: a shadow step serves no traffic from the candidate: leave weight out',
      'steps[2].weight: must be a number > 0 and <= 100, got 0',
      'steps[3].weight: must be a number > 0 and <= 100, got 150',
      'steps[3].min_labelled: must be an integer >= 0, got 1.5',
      'steps[4].weight: required: the candidate\'s share of traffic in percent (or "shadow": true)',
      'steps[1].shadow: shadow steps come before the traffic steps',
      'guards.speed: unknown field; expected one of accuracy, psi, errors, latency, agreement',
      'guards.accuracy.mdd: unknown field; expected one of alpha, beta, min_detectable_difference, min_samples, users, user_correlation, expected_accuracy, label_free_min_predictions',
      'guards.accuracy.alpha: must be a number > 0 and <= 0.5, got 0.9',
      'guards.psi: must be an object of settings (empty for the defaults), or false to turn the guard off',
    ]);
  });

  it('refuses steps that go backwards, repeat a name, or an empty list', () => {
    expect(errorsOf({ ...declaration, steps: [{ weight: 50 }, { weight: 25, name: '50%' }] })).toEqual([
      'steps[1].weight: must be above the previous step\'s 50 (a rollout only moves forward)',
      'steps[1].name: duplicate step name "50%"',
    ]);
    expect(errorsOf({ ...declaration, steps: [] })).toEqual(['steps: must be a non-empty array of steps, e.g. [{ "shadow": true }, { "weight": 5 }, { "weight": 100 }]']);
    expect(errorsOf(null)).toEqual(['(config): must be an object']);
  });

  it('fills the sequential design\'s defaults: alpha and beta over the whole rollout, no label budget, no clustering', () => {
    const result = validateRolloutSpec({ id: 'r1', baseline: 'v1', candidate: 'v2', steps: [{ weight: 100 }], guards: { accuracy: { alpha: 0.01 }, errors: {} } });
    expect(result.ok && result.spec.guards.accuracy).toEqual({
      alpha: 0.01, beta: 0.05, min_detectable_difference: 0.03, min_samples: 30, users: 0, user_correlation: 0, expected_accuracy: 0.5, label_free_min_predictions: 0,
    });
    expect(result.ok && result.spec.guards.errors).toEqual({ margin: 0.01, min_samples: 50, alpha: 0.05, beta: 0.05 });
    expect(errorsOf({ id: 'r1', baseline: 'v1', candidate: 'v2', steps: [{ weight: 100 }], guards: { errors: { margin: 0 } } }))
      .toEqual(['guards.errors.margin: must be a number > 0 and <= 1, got 0']);
  });

  it('refuses a label budget too small to pass an equally accurate candidate, saying the labels the step needs', () => {
    const steps = [{ shadow: true, max_labelled: 100 }, { weight: 25, max_labelled: 100_000 }, { weight: 100, min_labelled: 500, max_labelled: 400 }];
    const errors = errorsOf({ ...declaration, steps, guards: { accuracy: { min_detectable_difference: 0.05, expected_accuracy: 0.9 } } });
    expect(errors).toHaveLength(3);
    expect(errors[0]).toBe('steps[2].max_labelled: must be at least min_labelled (500), or 0 for no limit');
    expect(errors[1]).toMatch(/^steps\[0\]\.max_labelled: an equally accurate candidate needs about (\d+) labelled candidate predictions at this step to pass before the budget runs out \(margin 0\.05, alpha 0\.05 over 3 steps, beta 0\.05, expected accuracy 0\.9\); got 100$/);
    const needed = Number(/about (\d+)/.exec(errors[1]!)![1]);
    expect(needed).toBeGreaterThan(500);
    expect(needed).toBeLessThan(5_000);
    expect(errors[2]).toMatch(/^steps\[2\]\.max_labelled: an equally accurate candidate needs about \d+ .*; got 400$/);
    // The budget it asked for is accepted.
    const fixed = steps.map((st) => ({ ...st, min_labelled: 0, max_labelled: Math.max(st.max_labelled, needed) }));
    expect(validateRolloutSpec({ ...declaration, steps: fixed, guards: { accuracy: { min_detectable_difference: 0.05, expected_accuracy: 0.9 } } }).ok).toBe(true);
  });

  it('refuses sticky settings whose users cannot resolve the margin, and user_correlation without users', () => {
    const sticky = (accuracy: object) => ({ ...declaration, steps: [{ weight: 50 }], guards: { accuracy } });
    expect(errorsOf(sticky({ user_correlation: 0.3 }))).toEqual(['guards.accuracy.users: needed with user_correlation: the number of stickiness keys sending labelled requests in a step']);
    expect(errorsOf(sticky({ users: 20, user_correlation: 0.3, min_detectable_difference: 0.05, expected_accuracy: 0.9 }))).toEqual([
      'guards.accuracy.users: 20 users with correlation 0.3 cannot rule out a drop of the margin at step 1 "50%" with any number of labels (margin 0.05, alpha 0.05 over 1 steps, beta 0.05, expected accuracy 0.9): more users or a larger min_detectable_difference',
    ]);
    expect(validateRolloutSpec(sticky({ users: 2000, user_correlation: 0.3, min_detectable_difference: 0.05, expected_accuracy: 0.9 })).ok).toBe(true);
    // Not sticky: users do not cluster the labels of one version, so nothing is refused.
    expect(validateRolloutSpec({ ...sticky({ users: 20, user_correlation: 0.3 }), sticky_by: null }).ok).toBe(true);
  });

  it('plans the labels per step (npm run rollout -- plan): typical, and the budget that keeps alpha', () => {
    const result = validateRolloutSpec({ ...declaration, guards: { accuracy: { min_detectable_difference: 0.05, expected_accuracy: 0.9 } } });
    const lines = result.ok ? describePlan(result.spec) : [];
    expect(lines).toHaveLength(4);
    const [typical, budget] = /about (\d+) .*\), (\d+) to pass with probability 0\.9917; max_labelled 0/.exec(lines[0]!)!.slice(1).map(Number);
    expect(typical).toBeLessThan(budget!);
    // The budget is what the validator asks for when max_labelled is set too small.
    const refused = errorsOf({ ...declaration, steps: [{ ...declaration.steps[0], max_labelled: 100 }, ...declaration.steps.slice(1)], guards: { accuracy: { min_detectable_difference: 0.05, expected_accuracy: 0.9 } } });
    expect(refused[0]).toContain(`about ${budget} labelled candidate predictions`);
    expect(lines[3]).toBe('(margin 0.05, alpha 0.05, beta 0.05, expected accuracy 0.9; a better candidate needs fewer)');
  });

  it('accepts the example rollouts in rollouts/examples', async () => {
    const { readdir, readFile } = await import('node:fs/promises');
    const dir = new URL('../../../rollouts/examples/', import.meta.url);
    const files = (await readdir(dir)).filter((f) => f.endsWith('.json'));
    expect(files.length).toBeGreaterThan(0);
    for (const file of files) {
      const result = validateRolloutSpec(JSON.parse(await readFile(new URL(file, dir), 'utf8')));
      expect(result.ok ? [] : result.errors, file).toEqual([]);
    }
  });
});
