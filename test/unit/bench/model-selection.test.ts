import { describe, expect, it } from 'vitest';
import { parseModelGroups } from '../../../bench/model-selection.ts';

describe('parseModelGroups (npm run bench -- --models)', () => {
  it('measures the built-in models when not told otherwise', () => {
    expect([...parseModelGroups(undefined)]).toEqual(['builtin']);
  });

  it('takes one group, a list, or all', () => {
    expect([...parseModelGroups('third-party')]).toEqual(['third-party']);
    expect([...parseModelGroups('third-party, builtin')].sort()).toEqual(['builtin', 'third-party']);
    expect([...parseModelGroups('all')].sort()).toEqual(['builtin', 'third-party']);
  });

  it('refuses an unknown group or an empty item, naming the choices', () => {
    expect(() => parseModelGroups('thirdparty')).toThrow(/--models thirdparty: expected all or a comma-separated list of builtin, third-party/);
    expect(() => parseModelGroups('builtin,')).toThrow(/--models builtin,/);
    expect(() => parseModelGroups('')).toThrow(/--models/);
  });
});
