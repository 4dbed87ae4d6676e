import { readFileSync, readdirSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import avsc from 'avsc';
import { describe, expect, it } from 'vitest';
import { validateExperimentConfig } from '../../../router/experiment/validate.ts';

const repoRoot = fileURLToPath(new URL('../../../', import.meta.url));

const valid = {
  id: 'exp',
  versions: ['v1', 'v2'],
  default_version: 'v1',
  rules: [{ id: 'ab', split: [{ version: 'v1', weight: 1 }, { version: 'v2', weight: 1 }] }],
};

function errorsOf(input: unknown): string[] {
  const result = validateExperimentConfig(input, { updatedAt: 1 });
  if (result.ok) throw new Error('expected validation to fail');
  return result.errors;
}

function withRule(rule: Record<string, unknown>): Record<string, unknown> {
  return { ...valid, rules: [{ id: 'first' }, rule] };
}

describe('validateExperimentConfig', () => {
  it('fills the Avro defaults of the friendly JSON form, and updated_at from the caller', () => {
    const result = validateExperimentConfig({ ...valid, rules: [{ id: 'r' }] }, { updatedAt: 42 });
    expect(result).toEqual({
      ok: true,
      config: {
        id: 'exp',
        description: null,
        versions: ['v1', 'v2'],
        default_version: 'v1',
        rules: [{ id: 'r', match: [], split: [], sticky_by: null, shadow: [], allow_pinned: false, fallback: null }],
        updated_at: 42,
        updated_by: null,
        bucket_seed: null,
        model: null,
      },
    });
  });

  it('keeps an updated_at that the input has', () => {
    const result = validateExperimentConfig({ ...valid, updated_at: 7 }, { updatedAt: 42 });
    expect(result.ok && result.config.updated_at).toBe(7);
  });

  it('needs updated_at from the input or the caller', () => {
    const result = validateExperimentConfig(valid);
    expect(result).toEqual({ ok: false, errors: [expect.stringMatching(/^updated_at: required/)] });
  });

  it('fills predicate values with []', () => {
    const result = validateExperimentConfig(withRule({ id: 'r', match: [{ field: 'source', op: 'exists' }] }), { updatedAt: 1 });
    expect(result.ok && result.config.rules[1]?.match).toEqual([{ field: 'source', op: 'exists', values: [] }]);
  });

  it('rejects what is not an object', () => {
    expect(errorsOf(null)).toEqual(['(config): must be an object']);
    expect(errorsOf([])).toEqual(['(config): must be an object']);
  });

  it('checks the experiment id, versions and default_version', () => {
    expect(errorsOf({ ...valid, id: ' ' })).toEqual(['id: must be a non-empty string']);
    expect(errorsOf({ ...valid, versions: [] })).toEqual(['versions: must be a non-empty array of version names']);
    expect(errorsOf({ ...valid, versions: ['v1', 'v2', 'v1'] })).toEqual(['versions[2]: duplicate version "v1"']);
    expect(errorsOf({ ...valid, versions: ['v1', 'v2', 'v 3', 'v/4'] })).toEqual([
      'versions[2]: must be a version name of letters, digits, ".", "_" or "-" (it becomes a topic name)',
      'versions[3]: must be a version name of letters, digits, ".", "_" or "-" (it becomes a topic name)',
    ]);
    expect(errorsOf({ ...valid, default_version: 'v3' })).toEqual(['default_version: "v3" is not in versions (v1, v2)']);
  });

  it('accepts the characters Kafka allows in topic names', () => {
    expect(validateExperimentConfig({ ...valid, versions: ['v1', 'v2', 'resnet_50.v3-rc1'] }, { updatedAt: 1 }).ok).toBe(true);
  });

  it('accepts a model name without "." and refuses one with it (it separates model from version in topic names)', () => {
    expect(validateExperimentConfig({ ...valid, model: 'text-orientation' }, { updatedAt: 1 })).toMatchObject({ ok: true, config: { model: 'text-orientation' } });
    expect(errorsOf({ ...valid, model: 'text.orientation' })).toEqual([
      'model: must be a model name of letters, digits, "_" or "-" (no "."), or null for the default model',
    ]);
  });

  it('rejects unknown fields at every level, so typos do not silently become defaults', () => {
    expect(errorsOf({ ...valid, owner: 'me' })).toEqual([
      'owner: unknown field; expected one of id, description, versions, default_version, rules, updated_at, updated_by, bucket_seed, model',
    ]);
    expect(errorsOf(withRule({ id: 'r', alow_pinned: true }))).toEqual([
      'rules[1].alow_pinned: unknown field; expected one of id, match, split, sticky_by, shadow, allow_pinned, fallback, priority',
    ]);
    expect(errorsOf(withRule({ id: 'r', match: [{ field: 'uri', op: 'eq', value: 'x' }] }))).toEqual([
      'rules[1].match[0].value: unknown field; expected one of field, op, values',
      'rules[1].match[0].values: eq needs exactly one value (use in for several)',
    ]);
  });

  it('needs rules, and unique non-empty rule ids', () => {
    expect(errorsOf({ ...valid, rules: undefined })).toEqual(['rules: must be an array (may be empty: everything goes to default_version)']);
    expect(errorsOf({ ...valid, rules: [{ id: 'a' }, { id: 'b' }, { id: 'a' }] })).toEqual(['rules[2].id: duplicate rule id "a"']);
    expect(errorsOf(withRule({ id: '' }))).toEqual(['rules[1].id: must be a non-empty string']);
  });

  it('checks split versions and weights', () => {
    expect(errorsOf(withRule({ id: 'r', split: [{ version: 'v1', weight: 1 }, { version: 'v2', weight: 0 }] }))).toEqual([
      'rules[1].split[1].weight: must be > 0 (remove the entry to send it nothing)',
    ]);
    expect(errorsOf(withRule({ id: 'r', split: [{ version: 'v1', weight: -1 }] }))).toEqual([
      'rules[1].split[0].weight: must be > 0 (remove the entry to send it nothing)',
    ]);
    for (const weight of [Number.NaN, Number.POSITIVE_INFINITY, '50']) {
      expect(errorsOf(withRule({ id: 'r', split: [{ version: 'v1', weight }] }))).toEqual(['rules[1].split[0].weight: must be a finite number']);
    }
    expect(errorsOf(withRule({ id: 'r', split: [{ version: 'v9', weight: 1 }] }))).toEqual([
      'rules[1].split[0].version: "v9" is not in versions (v1, v2)',
    ]);
    expect(errorsOf(withRule({ id: 'r', split: [{ version: 'v1', weight: 1 }, { version: 'v1', weight: 2 }] }))).toEqual([
      'rules[1].split[1].version: duplicate version (merge the weights into one entry) "v1"',
    ]);
  });

  it('rejects a weight too small to own a single bucket', () => {
    expect(errorsOf(withRule({ id: 'r', split: [{ version: 'v1', weight: 1e6 }, { version: 'v2', weight: 1 }] }))).toEqual([
      'rules[1].split[1].weight: share is below one bucket (1/10000); raise it or remove the entry',
    ]);
  });

  it('checks shadow versions', () => {
    expect(errorsOf(withRule({ id: 'r', shadow: ['v3'] }))).toEqual(['rules[1].shadow[0]: "v3" is not in versions (v1, v2)']);
    expect(errorsOf(withRule({ id: 'r', shadow: ['v2', 'v2'] }))).toEqual(['rules[1].shadow[1]: duplicate shadow version "v2"']);
  });

  it('allows a shadow that the same rule can also serve as primary (deduplicated per request when routing)', () => {
    const config = withRule({ id: 'r', split: [{ version: 'v1', weight: 1 }, { version: 'v2', weight: 1 }], shadow: ['v2'] });
    expect(validateExperimentConfig(config, { updatedAt: 1 }).ok).toBe(true);
  });

  it('checks predicate fields, ops and values', () => {
    const grammar = 'uri | source | stickiness_key | request_id | pinned_version | metadata.<name> | header.<name>';
    expect(errorsOf(withRule({ id: 'r', match: [{ field: 'user', op: 'exists' }] }))).toEqual([
      `rules[1].match[0].field: unknown field "user"; expected ${grammar}`,
    ]);
    expect(errorsOf(withRule({ id: 'r', match: [{ field: 'metadata.', op: 'exists' }] }))).toEqual([
      `rules[1].match[0].field: unknown field "metadata."; expected ${grammar}`,
    ]);
    expect(errorsOf(withRule({ id: 'r', match: [{ field: 'uri', op: 'contains', values: ['x'] }] }))).toEqual([
      'rules[1].match[0].op: unknown op "contains"; expected one of eq, neq, in, not_in, prefix, regex, exists',
    ]);
    expect(errorsOf(withRule({ id: 'r', match: [{ field: 'uri', op: 'in' }] }))).toEqual(['rules[1].match[0].values: in needs at least one value']);
    expect(errorsOf(withRule({ id: 'r', match: [{ field: 'uri', op: 'neq', values: ['a', 'b'] }] }))).toEqual([
      'rules[1].match[0].values: neq needs exactly one value (use not_in for several)',
    ]);
    expect(errorsOf(withRule({ id: 'r', match: [{ field: 'uri', op: 'exists', values: ['yes'] }] }))).toEqual([
      'rules[1].match[0].values: exists takes no value, or ["true"] or ["false"]',
    ]);
    expect(errorsOf(withRule({ id: 'r', match: [{ field: 'uri', op: 'in', values: ['a', 3] }] }))).toEqual([
      'rules[1].match[0].values[1]: must be a string',
    ]);
  });

  it('reports a regex that does not compile, naming the rule, the predicate and the pattern', () => {
    const errors = errorsOf(withRule({ id: 'r', match: [{ field: 'uri', op: 'regex', values: ['ok', '(unclosed'] }] }));
    expect(errors).toHaveLength(1);
    expect(errors[0]).toMatch(/^rules\[1\]\.match\[0\]\.values\[1\]: invalid regex of rule "r" "\(unclosed": .*missing closing \)/);
  });

  it('refuses patterns that cannot run in linear time (lookarounds, backreferences), saying why', () => {
    const errors = errorsOf(withRule({
      id: 'eu',
      match: [{ field: 'uri', op: 'prefix', values: ['s3://'] }, { field: 'metadata.user', op: 'regex', values: ['^(?=admin)', '(a)\\1', '(?<!x)y'] }],
    }));
    expect(errors).toHaveLength(3);
    for (const [i, error] of errors.entries()) {
      expect(error).toMatch(new RegExp(`^rules\\[1\\]\\.match\\[1\\]\\.values\\[${i}\\]: invalid regex of rule "eu" `));
      expect(error).toContain('RE2 syntax, matched in linear time: no lookarounds');
    }
  });

  it('checks a rule\'s fallback against versions, and bucket_seed', () => {
    expect(errorsOf({ ...withRule({ id: 'r', fallback: 'v9' }), bucket_seed: '' })).toEqual([
      'rules[1].fallback: "v9" is not in versions (v1, v2)',
      'bucket_seed: must be a non-empty string or null (null hashes the experiment id)',
    ]);
    const result = validateExperimentConfig({ ...withRule({ id: 'r', fallback: 'v1' }), bucket_seed: 'rollout-7' }, { updatedAt: 1 });
    expect(result.ok && [result.config.rules[1]?.fallback, result.config.bucket_seed]).toEqual(['v1', 'rollout-7']);
  });

  it('checks sticky_by and allow_pinned', () => {
    expect(errorsOf(withRule({ id: 'r', sticky_by: 'user_id' }))[0]).toMatch(/^rules\[1\]\.sticky_by: unknown field "user_id"/);
    expect(errorsOf(withRule({ id: 'r', allow_pinned: 'yes' }))).toEqual(['rules[1].allow_pinned: must be true or false']);
    expect(validateExperimentConfig(withRule({ id: 'r', sticky_by: 'header.x-user' }), { updatedAt: 1 }).ok).toBe(true);
  });

  it('reports every problem at once', () => {
    const errors = errorsOf({
      id: 'exp',
      versions: ['v1'],
      default_version: 'v2',
      rules: [{ id: 'a', split: [{ version: 'v1', weight: 0 }], shadow: ['v3'] }, { id: 'a' }],
    });
    expect(errors).toEqual([
      'default_version: "v2" is not in versions (v1)',
      'rules[0].split[0].weight: must be > 0 (remove the entry to send it nothing)',
      'rules[0].shadow[0]: "v3" is not in versions (v1)',
      'rules[1].id: duplicate rule id "a"',
    ]);
  });

  it('does not report version references when the version list itself is invalid', () => {
    expect(errorsOf({ ...valid, versions: 'v1' })).toEqual(['versions: must be a non-empty array of version names']);
  });

  it('accepts the Avro-decoded form of a config as it is', () => {
    const schema = JSON.parse(readFileSync(`${repoRoot}schemas/experiment-config.avsc`, 'utf8'));
    const type = avsc.Type.forSchema(schema);
    const friendly = validateExperimentConfig(
      {
        ...valid,
        description: 'round trip',
        rules: [
          { id: 'pins', match: [{ field: 'header.x-pin', op: 'exists' }], allow_pinned: true, sticky_by: 'stickiness_key', shadow: ['v2'] },
          ...valid.rules,
        ],
      },
      { updatedAt: 1_700_000_000_000 },
    );
    if (!friendly.ok) throw new Error(friendly.errors.join('\n'));
    const decoded: unknown = type.fromBuffer(type.toBuffer(friendly.config));
    const result = validateExperimentConfig(decoded);
    expect(result.ok).toBe(true);
    expect(result.ok && { ...result.config, rules: result.config.rules.map((r) => ({ ...r })) }).toEqual(friendly.config);
  });

  it('accepts every example experiment in router/experiments', () => {
    const dir = `${repoRoot}router/experiments/`;
    const files = readdirSync(dir).filter((name) => name.endsWith('.json'));
    expect(files.length).toBeGreaterThanOrEqual(3);
    for (const name of files) {
      const result = validateExperimentConfig(JSON.parse(readFileSync(dir + name, 'utf8')), { updatedAt: 1 });
      expect(result.ok ? [] : result.errors, name).toEqual([]);
    }
  });
});
