import { describe, expect, it } from 'vitest';
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
        id: 'r1', description: null, table: 'default', baseline: 'v1', candidate: 'v2', sticky_by: null,
        steps: [
          { name: 'shadow', weight: 0, shadow: true, min_duration_seconds: 0, min_labelled: 0 },
          { name: '5%', weight: 5, shadow: false, min_duration_seconds: 0, min_labelled: 0 },
          { name: '100%', weight: 100, shadow: false, min_duration_seconds: 0, min_labelled: 0 },
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

  it('names the field of every problem', () => {
    expect(errorsOf({
      id: 'has space', baseline: 'v1', candidate: 'v1', sticky_by: 'user', colour: 'red',
      steps: [{ weight: 5 }, { shadow: true, weight: 3 }, { weight: 0 }, { weight: 150, min_labelled: 1.5 }, {}],
      guards: { accuracy: { alpha: 0.9, mdd: 1 }, psi: 'strict', speed: {} },
    })).toEqual([
      'colour: unknown field; expected one of id, description, table, baseline, candidate, sticky_by, steps, guards',
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
      'guards.accuracy.mdd: unknown field; expected one of alpha, min_detectable_difference, min_samples',
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
