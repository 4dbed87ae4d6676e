/**
 * Validates an ExperimentConfig, either Avro-decoded from the experiments topic or parsed from the friendlier
 * JSON file form, and returns the typed config or every problem found, each naming its path
 * (e.g. `rules[1].split[0].weight: must be > 0`).
 *
 * The JSON form may leave out what has an Avro default (description, updated_by, bucket_seed, model, and per rule match,
 * split, sticky_by, shadow, allow_pinned, fallback, priority; per predicate values); updated_at may come from the caller. Unknown fields
 * are errors, so a misspelt `alow_pinned` cannot silently fall back to false.
 *
 * Shadows: a rule's shadow list may name a version the same rule can serve as primary (e.g. a 50/50 split of
 * v1/v2 shadowed to v2). For each request the primary is removed from the shadows, so a version never gets
 * the same request twice; see `route`.
 */
import { join, nonEmptyString, optionalArray, optionalString, Problems, record, string, type Fields } from './field-checks.ts';
import { FIELD_GRAMMAR, parseFieldName } from './fields.ts';
import { BUCKET_COUNT, layoutSplit } from './hash-bucket.ts';
import { compilePattern, valuesProblem } from './predicates.ts';
import { HIGH_LANE_SUFFIX, LANES, MODEL_NAME_PATTERN } from '../../platform/topics.ts';
import { PREDICATE_OPS, type ExperimentConfig, type Predicate, type PredicateOp, type Rule, type WeightedVersion } from './types.ts';

export interface ValidateOptions {
  /** Used when the input has no updated_at (the JSON file form); milliseconds since the epoch. */
  updatedAt?: number;
}

export type ValidationResult = { ok: true; config: ExperimentConfig } | { ok: false; errors: string[] };

/** Versions become topic names `images.requests.<version>`, so they must be legal Kafka topic characters. */
export const VERSION_PATTERN = /^[a-zA-Z0-9._-]+$/;

const CONFIG_FIELDS = ['id', 'description', 'versions', 'default_version', 'rules', 'updated_at', 'updated_by', 'bucket_seed', 'model'];
const RULE_FIELDS = ['id', 'match', 'split', 'sticky_by', 'shadow', 'allow_pinned', 'fallback', 'priority'];
const PREDICATE_FIELDS = ['field', 'op', 'values'];
const WEIGHTED_VERSION_FIELDS = ['version', 'weight'];

type KnownVersions = ReadonlySet<string> | null;

/**
 * Flags the later occurrence of each repeated string in the raw array `value` (or of each item's `key`), so
 * duplicates are reported even when other items are invalid; non-strings are reported elsewhere.
 */
function checkUnique(value: unknown, path: string, what: string, problems: Problems, key?: string): void {
  if (!Array.isArray(value)) return;
  const seen = new Set<string>();
  value.forEach((item: unknown, i) => {
    const candidate = key === undefined ? item : typeof item === 'object' && item !== null ? (item as Fields)[key] : undefined;
    if (typeof candidate !== 'string') return;
    if (seen.has(candidate)) problems.add(`${path}[${i}]${key === undefined ? '' : `.${key}`}`, `duplicate ${what} "${candidate}"`);
    seen.add(candidate);
  });
}

/** `versions` null: the version list itself is invalid and already reported, so references are not checked. */
function checkKnownVersion(version: string, versions: KnownVersions, path: string, problems: Problems): void {
  if (versions !== null && !versions.has(version)) problems.add(path, `"${version}" is not in versions (${[...versions].join(', ')})`);
}

function checkField(value: unknown, path: string, problems: Problems): string | undefined {
  const field = string(value, path, problems);
  if (field === undefined) return undefined;
  if (parseFieldName(field) === null) {
    problems.add(path, `unknown field "${field}"; expected ${FIELD_GRAMMAR}`);
    return undefined;
  }
  return field;
}

function predicate(value: unknown, path: string, ruleId: unknown, problems: Problems): Predicate | undefined {
  const fields = record(value, path, PREDICATE_FIELDS, problems);
  if (fields === undefined) return undefined;
  const field = checkField(fields.field, join(path, 'field'), problems);
  const opValue = string(fields.op, join(path, 'op'), problems);
  const op = PREDICATE_OPS.find((known) => known === opValue);
  if (opValue !== undefined && op === undefined) {
    problems.add(join(path, 'op'), `unknown op "${opValue}"; expected one of ${PREDICATE_OPS.join(', ')}`);
  }
  const valuesPath = join(path, 'values');
  const values = optionalArray(fields.values, valuesPath, problems, (v, p) => string(v, p, problems));
  if (op !== undefined && values !== undefined) checkValues(op, values, valuesPath, ruleId, problems);
  if (field === undefined || op === undefined || values === undefined) return undefined;
  return { field, op, values };
}

function checkValues(op: PredicateOp, values: string[], path: string, ruleId: unknown, problems: Problems): void {
  const problem = valuesProblem(op, values);
  if (problem !== null) problems.add(path, problem);
  if (op !== 'regex') return;
  const rule = typeof ruleId === 'string' ? ` of rule "${ruleId}"` : '';
  values.forEach((pattern, i) => {
    try {
      compilePattern(pattern);
    } catch (err) {
      problems.add(
        `${path}[${i}]`,
        `invalid regex${rule} ${JSON.stringify(pattern)}: ${(err as Error).message}. Patterns are RE2 syntax, matched in linear time: ` +
          'no lookarounds ((?=, (?!, (?<=, (?<!) or backreferences (\\1)',
      );
    }
  });
}

function weightedVersion(value: unknown, path: string, versions: KnownVersions, problems: Problems): WeightedVersion | undefined {
  const fields = record(value, path, WEIGHTED_VERSION_FIELDS, problems);
  if (fields === undefined) return undefined;
  const version = string(fields.version, join(path, 'version'), problems);
  if (version !== undefined) checkKnownVersion(version, versions, join(path, 'version'), problems);
  const { weight } = fields;
  if (typeof weight !== 'number' || !Number.isFinite(weight)) {
    problems.add(join(path, 'weight'), 'must be a finite number');
    return undefined;
  }
  if (weight <= 0) {
    problems.add(join(path, 'weight'), 'must be > 0 (remove the entry to send it nothing)');
    return undefined;
  }
  return version === undefined ? undefined : { version, weight };
}

function checkBucketShares(split: WeightedVersion[], path: string, problems: Problems): void {
  if (split.length === 0) return;
  const { upperBounds } = layoutSplit(split);
  upperBounds.forEach((upper, i) => {
    if (upper === (upperBounds[i - 1] ?? 0)) {
      problems.add(`${path}[${i}].weight`, `share is below one bucket (1/${BUCKET_COUNT}); raise it or remove the entry`);
    }
  });
}

function rule(value: unknown, path: string, versions: KnownVersions, problems: Problems): Rule | undefined {
  const fields = record(value, path, RULE_FIELDS, problems);
  if (fields === undefined) return undefined;
  const id = nonEmptyString(fields.id, join(path, 'id'), problems);
  const match = optionalArray(fields.match, join(path, 'match'), problems, (v, p) => predicate(v, p, fields.id, problems));
  const splitPath = join(path, 'split');
  const split = optionalArray(fields.split, splitPath, problems, (v, p) => weightedVersion(v, p, versions, problems));
  checkUnique(fields.split, splitPath, 'version (merge the weights into one entry)', problems, 'version');
  if (split !== undefined) checkBucketShares(split, splitPath, problems);
  const stickyBy =
    fields.sticky_by === undefined || fields.sticky_by === null
      ? null
      : checkField(fields.sticky_by, join(path, 'sticky_by'), problems);
  const shadowPath = join(path, 'shadow');
  const shadow = optionalArray(fields.shadow, shadowPath, problems, (v, p) => {
    const version = string(v, p, problems);
    if (version !== undefined) checkKnownVersion(version, versions, p, problems);
    return version;
  });
  checkUnique(fields.shadow, shadowPath, 'shadow version', problems);
  const allowPinned = fields.allow_pinned ?? false;
  if (typeof allowPinned !== 'boolean') problems.add(join(path, 'allow_pinned'), 'must be true or false');
  const fallback = optionalString(fields.fallback, join(path, 'fallback'), problems);
  if (fallback !== null) checkKnownVersion(fallback, versions, join(path, 'fallback'), problems);
  const priority = optionalString(fields.priority, join(path, 'priority'), problems);
  const lane = LANES.find((l) => l === priority) ?? null;
  if (priority !== null && lane === null) problems.add(join(path, 'priority'), `unknown lane "${priority}"; expected ${LANES.join(' or ')}, or null for each request's own priority`);
  if (id === undefined || match === undefined || split === undefined || stickyBy === undefined || shadow === undefined) {
    return undefined;
  }
  // Left out unless set, like in files from before lanes.
  return { id, match, split, sticky_by: stickyBy, shadow, allow_pinned: allowPinned === true, fallback, ...(lane === null ? {} : { priority: lane }) };
}

function versionList(value: unknown, problems: Problems): string[] | undefined {
  if (!Array.isArray(value) || value.length === 0) {
    problems.add('versions', 'must be a non-empty array of version names');
    return undefined;
  }
  const versions = value.map((entry, i) => {
    if (typeof entry === 'string' && entry.endsWith(HIGH_LANE_SUFFIX)) {
      problems.add(`versions[${i}]`, `must not end in "${HIGH_LANE_SUFFIX}": that is the suffix of a version's high-priority lane topic`);
      return undefined;
    }
    if (typeof entry === 'string' && VERSION_PATTERN.test(entry)) return entry;
    problems.add(`versions[${i}]`, 'must be a version name of letters, digits, ".", "_" or "-" (it becomes a topic name)');
    return undefined;
  });
  checkUnique(value, 'versions', 'version', problems);
  return versions.every((entry) => entry !== undefined) ? versions : undefined;
}

function updatedAt(value: unknown, fallback: number | undefined, problems: Problems): number | undefined {
  const millis = value ?? fallback;
  if (millis === undefined) {
    problems.add('updated_at', 'required: milliseconds since the epoch (the publishing tool normally fills it)');
    return undefined;
  }
  if (typeof millis !== 'number' || !Number.isSafeInteger(millis) || millis < 0) {
    problems.add('updated_at', 'must be a non-negative integer of milliseconds since the epoch');
    return undefined;
  }
  return millis;
}

export function validateExperimentConfig(input: unknown, options: ValidateOptions = {}): ValidationResult {
  const problems = new Problems();
  const fields = record(input, '', CONFIG_FIELDS, problems);
  if (fields === undefined) return { ok: false, errors: problems.list };

  const id = nonEmptyString(fields.id, 'id', problems);
  const description = optionalString(fields.description, 'description', problems);
  const versions = versionList(fields.versions, problems);
  const known: KnownVersions = versions === undefined ? null : new Set(versions);
  const defaultVersion = string(fields.default_version, 'default_version', problems);
  if (defaultVersion !== undefined) checkKnownVersion(defaultVersion, known, 'default_version', problems);
  let rules: Rule[] | undefined;
  if (!Array.isArray(fields.rules)) {
    problems.add('rules', 'must be an array (may be empty: everything goes to default_version)');
  } else {
    rules = optionalArray(fields.rules, 'rules', problems, (v, p) => rule(v, p, known, problems));
    checkUnique(fields.rules, 'rules', 'rule id', problems, 'id');
  }
  const updated = updatedAt(fields.updated_at, options.updatedAt, problems);
  const updatedBy = optionalString(fields.updated_by, 'updated_by', problems);
  const bucketSeed = optionalString(fields.bucket_seed, 'bucket_seed', problems);
  if (bucketSeed === '') problems.add('bucket_seed', 'must be a non-empty string or null (null hashes the experiment id)');
  const model = optionalString(fields.model, 'model', problems);
  if (model !== null && !MODEL_NAME_PATTERN.test(model)) {
    problems.add('model', 'must be a model name of letters, digits, "_" or "-" (no "."), or null for the default model');
  }

  if (
    problems.list.length > 0 ||
    id === undefined ||
    versions === undefined ||
    defaultVersion === undefined ||
    rules === undefined ||
    updated === undefined
  ) {
    return { ok: false, errors: problems.list };
  }
  return {
    ok: true,
    config: { id, description, versions, default_version: defaultVersion, rules, updated_at: updated, updated_by: updatedBy, bucket_seed: bucketSeed, model },
  };
}
