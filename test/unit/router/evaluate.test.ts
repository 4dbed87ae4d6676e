import { describe, expect, it } from 'vitest';
import { compileExperiment, route } from '../../../router/experiment/evaluate.ts';
import { bucketOf } from '../../../router/experiment/hash-bucket.ts';
import { experiment, input } from './fixtures.ts';

const base = { id: 'exp', versions: ['v1', 'v2', 'v3'], default_version: 'v1' };

describe('route', () => {
  it('no rule matching: default_version, ruleId null, no shadows', () => {
    const config = experiment({ ...base, rules: [{ id: 'web', match: [{ field: 'source', op: 'eq', values: ['web'] }], shadow: ['v2'] }] });
    expect(route(config, input({ source: 'batch' }))).toEqual({
      ok: true,
      experimentId: 'exp',
      ruleId: null,
      primary: { version: 'v1', reason: 'default' },
      shadows: [],
    });
  });

  it('no rules at all: default_version', () => {
    const result = route(experiment({ ...base, rules: [] }), input());
    expect(result).toMatchObject({ ok: true, ruleId: null, primary: { version: 'v1', reason: 'default' } });
  });

  it('the first matching rule decides, in listed order', () => {
    const config = experiment({
      ...base,
      rules: [
        { id: 'internal', match: [{ field: 'header.x-internal', op: 'exists' }], split: [{ version: 'v3', weight: 1 }] },
        { id: 'web', match: [{ field: 'source', op: 'eq', values: ['web'] }], split: [{ version: 'v2', weight: 1 }] },
        { id: 'rest', split: [{ version: 'v1', weight: 1 }] },
      ],
    });
    const router = compileExperiment(config);
    expect(router.route(input({ source: 'web' }, { 'x-internal': 'yes' }))).toMatchObject({ ruleId: 'internal', primary: { version: 'v3' } });
    expect(router.route(input({ source: 'web' }))).toMatchObject({ ruleId: 'web', primary: { version: 'v2' } });
    expect(router.route(input({ source: 'batch' }))).toMatchObject({ ruleId: 'rest', primary: { version: 'v1' } });
  });

  it('every predicate of a rule must hold', () => {
    const config = experiment({
      ...base,
      rules: [
        {
          id: 'both',
          match: [
            { field: 'source', op: 'eq', values: ['web'] },
            { field: 'metadata.tier', op: 'in', values: ['gold'] },
          ],
          split: [{ version: 'v2', weight: 1 }],
        },
      ],
    });
    expect(route(config, input({ source: 'web', metadata: { tier: 'gold' } }))).toMatchObject({ ruleId: 'both' });
    expect(route(config, input({ source: 'web', metadata: { tier: 'free' } }))).toMatchObject({ ruleId: null });
  });

  it('a matching rule without split serves default_version under its own rule id', () => {
    const config = experiment({ ...base, rules: [{ id: 'plain' }] });
    expect(route(config, input())).toEqual({
      ok: true,
      experimentId: 'exp',
      ruleId: 'plain',
      primary: { version: 'v1', reason: 'default' },
      shadows: [],
    });
  });

  describe('pinned versions', () => {
    const pinnable = experiment({
      ...base,
      rules: [{ id: 'ab', allow_pinned: true, split: [{ version: 'v1', weight: 1 }, { version: 'v2', weight: 1 }], shadow: ['v3'] }],
    });
    const unpinnable = experiment({ ...base, rules: [{ id: 'ab', split: [{ version: 'v2', weight: 1 }] }] });

    it('allowed: the pinned version wins over the split, with no bucket', () => {
      const result = route(pinnable, input({ pinned_version: 'v3' }));
      expect(result).toEqual({ ok: true, experimentId: 'exp', ruleId: 'ab', primary: { version: 'v3', reason: 'pinned' }, shadows: [] });
    });

    it('forbidden: the pin is ignored and the split decides', () => {
      expect(route(unpinnable, input({ pinned_version: 'v3' }))).toMatchObject({ primary: { version: 'v2', reason: 'split' } });
    });

    it('forbidden: an unknown pin is ignored too', () => {
      expect(route(unpinnable, input({ pinned_version: 'v9' }))).toMatchObject({ ok: true, primary: { version: 'v2' } });
    });

    it('allowed but unknown: an UnknownVersion result to dead-letter', () => {
      const result = route(pinnable, input({ pinned_version: 'v9' }));
      expect(result).toMatchObject({ ok: false, errorClass: 'UnknownVersion', experimentId: 'exp', ruleId: 'ab', pinnedVersion: 'v9' });
      expect(!result.ok && result.message).toMatch(/"v9" is not a version of experiment "exp" \(versions: v1, v2, v3\)/);
    });

    it('a pin is only looked at by the rule that matched', () => {
      const config = experiment({
        ...base,
        rules: [
          { id: 'web', match: [{ field: 'source', op: 'eq', values: ['web'] }], split: [{ version: 'v2', weight: 1 }] },
          { id: 'rest', allow_pinned: true },
        ],
      });
      expect(route(config, input({ source: 'web', pinned_version: 'v3' }))).toMatchObject({ primary: { version: 'v2', reason: 'split' } });
      expect(route(config, input({ source: 'app', pinned_version: 'v3' }))).toMatchObject({ primary: { version: 'v3', reason: 'pinned' } });
    });
  });

  describe('shadows', () => {
    const config = experiment({
      ...base,
      rules: [{ id: 'r', allow_pinned: true, split: [{ version: 'v1', weight: 1 }, { version: 'v2', weight: 1 }], shadow: ['v2', 'v3'] }],
    });
    const router = compileExperiment(config);

    it('are the rule shadow list minus the primary version', () => {
      for (let i = 0; i < 200; i++) {
        const result = router.route(input({ request_id: `r${i}` }));
        if (!result.ok) throw new Error('unexpected error result');
        expect(result.shadows).toEqual(result.primary.version === 'v2' ? ['v3'] : ['v2', 'v3']);
      }
    });

    it('also apply to pinned requests, without duplicating the pinned version', () => {
      expect(router.route(input({ pinned_version: 'v3' }))).toMatchObject({ primary: { version: 'v3' }, shadows: ['v2'] });
    });

    it('apply when the rule serves default_version', () => {
      const shadowOnly = experiment({ ...base, rules: [{ id: 's', shadow: ['v2'] }] });
      expect(route(shadowOnly, input())).toMatchObject({ primary: { version: 'v1', reason: 'default' }, shadows: ['v2'] });
    });
  });

  describe('split and stickiness', () => {
    const sticky = experiment({
      ...base,
      rules: [{ id: 'ab', sticky_by: 'metadata.user_id', split: [{ version: 'v1', weight: 1 }, { version: 'v2', weight: 1 }] }],
    });

    it('hashes the sticky_by value when present (reason sticky)', () => {
      const result = route(sticky, input({ request_id: 'r1', metadata: { user_id: 'alice' } }));
      expect(result).toMatchObject({ primary: { reason: 'sticky' }, bucket: bucketOf('exp', 'ab', 'alice') });
    });

    it('falls back to request_id when the sticky_by field is missing (reason split)', () => {
      const result = route(sticky, input({ request_id: 'r1' }));
      expect(result).toMatchObject({ primary: { reason: 'split' }, bucket: bucketOf('exp', 'ab', 'r1') });
    });

    it('hashes request_id without sticky_by (reason split)', () => {
      const plain = experiment({ ...base, rules: [{ id: 'ab', split: [{ version: 'v1', weight: 1 }, { version: 'v2', weight: 1 }] }] });
      const result = route(plain, input({ request_id: 'r7', stickiness_key: 'bob' }));
      expect(result).toMatchObject({ primary: { reason: 'split' }, bucket: bucketOf('exp', 'ab', 'r7') });
    });

    it('picks the version owning the bucket', () => {
      const ninetyTen = experiment({ ...base, rules: [{ id: 'c', split: [{ version: 'v1', weight: 9 }, { version: 'v2', weight: 1 }] }] });
      for (let i = 0; i < 500; i++) {
        const result = route(ninetyTen, input({ request_id: `r${i}` }));
        if (!result.ok || result.bucket === undefined) throw new Error('expected a split decision');
        expect(result.primary.version).toBe(result.bucket < 9000 ? 'v1' : 'v2');
      }
    });
  });

  it('route(config, input) decides as a compiled router does, call after call', () => {
    const config = experiment({ ...base, rules: [{ id: 'ab', split: [{ version: 'v2', weight: 1 }] }] });
    expect(route(config, input())).toEqual(route(config, input()));
    expect(compileExperiment(config).route(input())).toEqual(route(config, input()));
  });

  describe('fallback', () => {
    const canary = experiment({
      ...base,
      rules: [{ id: 'canary', split: [{ version: 'v1', weight: 50 }, { version: 'v2', weight: 50 }], sticky_by: 'stickiness_key', shadow: ['v3'], fallback: 'v1' }],
    });
    const router = compileExperiment(canary);
    const users = Array.from({ length: 200 }, (_, i) => input({ request_id: `r${i}`, stickiness_key: `u${i}` }));
    const down = (...versions: string[]) => (v: string) => versions.includes(v);

    it('sends the traffic of a down version to the rule\'s fallback, saying what it replaced; the rest is untouched', () => {
      const healthy = users.map((u) => router.route(u));
      const degraded = users.map((u) => router.route(u, down('v2')));
      healthy.forEach((before, i) => {
        const after = degraded[i]!;
        if (!before.ok || !after.ok) throw new Error('expected decisions');
        if (before.primary.version === 'v1') {
          expect(after).toEqual(before);
        } else {
          expect(after.primary).toEqual({ version: 'v1', reason: 'fallback' });
          expect(after.fallbackFrom).toEqual({ version: 'v2', reason: 'sticky' });
          expect(after.bucket).toBe(before.bucket);
          expect(after.shadows).toEqual(['v3']);
        }
      });
      expect(healthy.filter((r) => r.ok && r.primary.version === 'v2').length).toBeGreaterThan(50);
      expect(degraded.every((r) => r.ok && r.primary.version === 'v1')).toBe(true);
    });

    it('keeps the chosen version when the fallback is down too, or the rule names no fallback', () => {
      const both = users.map((u) => router.route(u, down('v1', 'v2')));
      expect(both).toEqual(users.map((u) => router.route(u)));
      const noFallback = compileExperiment(experiment({ ...base, rules: [{ id: 'canary', split: [{ version: 'v2', weight: 1 }] }] }));
      expect(noFallback.route(users[0]!, down('v2'))).toMatchObject({ primary: { version: 'v2', reason: 'split' } });
      expect(noFallback.route(users[0]!, down('v2'))).not.toHaveProperty('fallbackFrom');
    });
  });

  it('bucket_seed replaces the experiment id in the bucket hash, so successive experiments keep each key\'s bucket', () => {
    const step = (id: string, candidateWeight: number) => compileExperiment(experiment({
      ...base, id, bucket_seed: 'rollout-1',
      rules: [{ id: 'rollout', split: [{ version: 'v1', weight: 100 - candidateWeight }, { version: 'v2', weight: candidateWeight }], sticky_by: 'stickiness_key' }],
    }));
    const five = step('rollout-1.step-1', 5);
    const quarter = step('rollout-1.step-2', 25);
    const users = Array.from({ length: 2_000 }, (_, i) => input({ stickiness_key: `u${i}` }));
    const onV2 = (router: ReturnType<typeof step>) => users.filter((u) => { const r = router.route(u); return r.ok && r.primary.version === 'v2'; });
    const early = onV2(five);
    expect(early.length).toBeGreaterThan(50);
    expect(new Set(onV2(quarter)).size).toBeGreaterThan(400);
    const later = new Set(onV2(quarter));
    expect(early.every((u) => later.has(u))).toBe(true);
    expect(five.route(users[0]!)).toMatchObject({ bucket: bucketOf('rollout-1', 'rollout', 'u0') });
  });
});
