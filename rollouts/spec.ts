/**
 * A rollout declaration (the JSON file given to `npm run rollout -- start FILE`) and its validation. Every
 * problem names the field it concerns (e.g. `steps[2].weight: must be a number > 0 and <= 100, got 0`), and
 * defaults are filled so the validated spec is complete; the controller validates again what it reads from the
 * commands topic, since anyone can write there.
 */
import { join, nonEmptyString, optionalNumber, optionalString, Problems, record, string, type NumberRange } from '../router/experiment/field-checks.ts';
import { FIELD_GRAMMAR, parseFieldName } from '../router/experiment/fields.ts';
import { VERSION_PATTERN } from '../router/experiment/validate.ts';
import { MODEL_NAME_PATTERN } from '../platform/topics.ts';
import { feasibilityProblems } from './plan.ts';

export interface RolloutStep {
  name: string;
  /** Candidate share of traffic in percent; 0 for a shadow step. */
  weight: number;
  /** The candidate gets a copy of every request, marked shadow; the baseline serves all of it. */
  shadow: boolean;
  /** The step lasts at least this long before it can be promoted. */
  min_duration_seconds: number;
  /** Labelled candidate predictions (feedback joined) the step needs before it can be promoted. */
  min_labelled: number;
  /**
   * The step's label budget: with this many labelled candidate predictions and the accuracy guard still
   * undecided, the rollout is rolled back (a drop of the margin could not be ruled out). 0: no limit, the step
   * waits. Refused when too small for an equally accurate candidate to pass (the error says what it needs).
   * The label-free test (guards.accuracy.label_free_min_predictions) holds its calibrated predictions to the
   * same budget.
   */
  max_labelled: number;
}

/**
 * The accuracy drop (baseline minus candidate) against its margin, by a sequential test valid at every look
 * (sequential.ts): fails when a drop above the margin is established, passes when one is ruled out.
 */
export interface AccuracyGuard {
  /** Chance, over the whole rollout, of rolling back a candidate as accurate as the baseline (split over the steps). */
  alpha: number;
  /** Chance of promoting a candidate whose accuracy is lower by exactly the margin. */
  beta: number;
  /** The margin: the drop the declaration tolerates no more of. */
  min_detectable_difference: number;
  /** Labelled predictions each side needs before the test is run at all. */
  min_samples: number;
  /**
   * Sticky rollouts: the fewest distinct stickiness keys either version gets labelled requests from in a step
   * (0: unknown), and the correlation of correctness between two requests of one user. With both set, the
   * variance is that of a mean over users (the labels of one user count as less than independent ones).
   */
  users: number;
  user_correlation: number;
  /** The accuracy both versions are expected at, for planning the labels a step needs (0.5: the worst case). */
  expected_accuracy: number;
  /**
   * Label-free accuracy while labels are missing (0: off). With fewer than min_samples labels on either side and
   * at least this many calibrated predictions on each (windows whose brightness or contrast PSI is significant
   * left out), the guard runs the same sequential test on the expected accuracies of the drift reports (mean
   * calibrated top-1 probability). It and the labelled test then share the step's alpha and beta. Valid only while
   * each model's calibration transfers to the traffic: not under label or concept shift.
   */
  label_free_min_predictions: number;
}

/** No `significant` PSI severity (any metric) in `consecutive_windows` candidate windows in a row. */
export interface PsiGuard {
  consecutive_windows: number;
  /** Windows with fewer predictions are not judged (their PSI is mostly noise). */
  min_window_predictions: number;
}

/**
 * Candidate dead-letter rate minus the baseline's against `margin` (rates in [0, 1]), by the same sequential
 * test as accuracy: fails when an excess above the margin is established, passes when one is ruled out.
 */
export interface ErrorGuard {
  margin: number;
  /** Candidate predictions plus dead letters needed before the rates are compared. */
  min_samples: number;
  /** Chance over the rollout of rolling back a candidate that fails as often as the baseline. */
  alpha: number;
  /** Chance of passing a candidate whose dead-letter rate is higher by exactly the margin. */
  beta: number;
}

/** Candidate p95 latency at most `p95_ratio` times the baseline's. */
export interface LatencyGuard {
  p95_ratio: number;
  /** Closed windows each side needs before the latencies are compared. */
  min_windows: number;
}

/** At shadow steps: the candidate predicts the baseline's class at least `min_rate` of the time. */
export interface AgreementGuard {
  min_rate: number;
  min_samples: number;
}

export interface Guards {
  accuracy: AccuracyGuard | null;
  psi: PsiGuard | null;
  errors: ErrorGuard | null;
  latency: LatencyGuard | null;
  agreement: AgreementGuard | null;
}

export type GuardName = keyof Guards;
export const GUARD_NAMES: readonly GuardName[] = ['accuracy', 'psi', 'errors', 'latency', 'agreement'];

export interface RolloutSpec {
  id: string;
  description: string | null;
  /** The routing table (record key on the experiments topic) the rollout drives. */
  table: string;
  /** The model whose versions roll out; null: the deployment's default model (table "default" unless named). */
  model: string | null;
  baseline: string;
  candidate: string;
  /** Split by this field (e.g. stickiness_key, one user stays on one version); null splits by request id. */
  sticky_by: string | null;
  steps: RolloutStep[];
  guards: Guards;
}

export const DEFAULT_GUARDS: { [K in GuardName]: NonNullable<Guards[K]> } = {
  // α and β hold over the whole rollout, whatever the number of looks (sequential.ts).
  accuracy: { alpha: 0.05, beta: 0.05, min_detectable_difference: 0.03, min_samples: 30, users: 0, user_correlation: 0, expected_accuracy: 0.5, label_free_min_predictions: 0 },
  psi: { consecutive_windows: 1, min_window_predictions: 50 },
  errors: { margin: 0.01, min_samples: 50, alpha: 0.05, beta: 0.05 },
  latency: { p95_ratio: 1.5, min_windows: 1 },
  agreement: { min_rate: 0.85, min_samples: 100 },
};

/** Ids end up in record keys and experiment ids. */
const ID_PATTERN = /^[a-zA-Z0-9._-]{1,100}$/;

const SPEC_FIELDS = ['id', 'description', 'table', 'model', 'baseline', 'candidate', 'sticky_by', 'steps', 'guards'];
const STEP_FIELDS = ['name', 'weight', 'shadow', 'min_duration_seconds', 'min_labelled', 'max_labelled'];

export type SpecResult = { ok: true; spec: RolloutSpec } | { ok: false; errors: string[] };

function version(value: unknown, path: string, problems: Problems): string | undefined {
  const name = string(value, path, problems);
  if (name !== undefined && !VERSION_PATTERN.test(name)) {
    problems.add(path, 'must be a version name of letters, digits, ".", "_" or "-"');
    return undefined;
  }
  return name;
}

function step(value: unknown, path: string, problems: Problems): RolloutStep | undefined {
  const fields = record(value, path, STEP_FIELDS, problems);
  if (fields === undefined) return undefined;
  const shadow = fields.shadow ?? false;
  if (typeof shadow !== 'boolean') problems.add(join(path, 'shadow'), 'must be true or false');
  let weight: number | undefined = 0;
  if (shadow === true) {
    // 0 is what validation fills in, so a validated spec validates again as it is.
    if (fields.weight !== undefined && fields.weight !== 0) problems.add(join(path, 'weight'), 'a shadow step serves no traffic from the candidate: leave weight out');
  } else if (fields.weight === undefined) {
    problems.add(join(path, 'weight'), 'required: the candidate\'s share of traffic in percent (or "shadow": true)');
    weight = undefined;
  } else {
    weight = optionalNumber(fields.weight, join(path, 'weight'), { min: 0, aboveMin: true, max: 100 }, 0, problems);
  }
  const minDuration = optionalNumber(fields.min_duration_seconds, join(path, 'min_duration_seconds'), { min: 0 }, 0, problems);
  const minLabelled = optionalNumber(fields.min_labelled, join(path, 'min_labelled'), { min: 0, integer: true }, 0, problems);
  const maxLabelled = optionalNumber(fields.max_labelled, join(path, 'max_labelled'), { min: 0, integer: true }, 0, problems);
  if (maxLabelled !== undefined && minLabelled !== undefined && maxLabelled > 0 && maxLabelled < minLabelled) {
    problems.add(join(path, 'max_labelled'), `must be at least min_labelled (${minLabelled}), or 0 for no limit`);
  }
  const name = fields.name === undefined ? (shadow === true ? 'shadow' : `${weight}%`) : nonEmptyString(fields.name, join(path, 'name'), problems);
  if (name === undefined || weight === undefined || minDuration === undefined || minLabelled === undefined || maxLabelled === undefined || typeof shadow !== 'boolean') return undefined;
  return { name, weight, shadow, min_duration_seconds: minDuration, min_labelled: minLabelled, max_labelled: maxLabelled };
}

function steps(value: unknown, problems: Problems): RolloutStep[] | undefined {
  if (!Array.isArray(value) || value.length === 0) {
    problems.add('steps', 'must be a non-empty array of steps, e.g. [{ "shadow": true }, { "weight": 5 }, { "weight": 100 }]');
    return undefined;
  }
  const list = value.map((entry, i) => step(entry, `steps[${i}]`, problems));
  let previous: RolloutStep | undefined;
  list.forEach((s, i) => {
    if (s === undefined) return;
    if (previous && s.shadow && !previous.shadow) problems.add(`steps[${i}].shadow`, 'shadow steps come before the traffic steps');
    if (previous && !s.shadow && !previous.shadow && s.weight <= previous.weight) {
      problems.add(`steps[${i}].weight`, `must be above the previous step's ${previous.weight} (a rollout only moves forward)`);
    }
    previous = s;
  });
  const names = new Set<string>();
  list.forEach((s, i) => {
    if (s && names.has(s.name)) problems.add(`steps[${i}].name`, `duplicate step name "${s.name}"`);
    if (s) names.add(s.name);
  });
  return list.every((s) => s !== undefined) ? (list as RolloutStep[]) : undefined;
}

const LEVEL: NumberRange = { min: 0, aboveMin: true, max: 0.5 };

/** Every guard setting is a number; its allowed range, by guard and field. */
const GUARD_RANGES: { [K in GuardName]: Record<keyof NonNullable<Guards[K]>, NumberRange> } = {
  accuracy: {
    alpha: LEVEL, beta: LEVEL, min_detectable_difference: { min: 0, aboveMin: true, max: 1 }, min_samples: { min: 1, integer: true },
    users: { min: 0, integer: true }, user_correlation: { min: 0, max: 1 }, expected_accuracy: { min: 0, max: 1 },
    label_free_min_predictions: { min: 0, integer: true },
  },
  psi: { consecutive_windows: { min: 1, integer: true }, min_window_predictions: { min: 1, integer: true } },
  // A margin of 0 could never be passed by an equal candidate: the upper bound of a zero excess stays above 0.
  errors: { margin: { min: 0, aboveMin: true, max: 1 }, min_samples: { min: 1, integer: true }, alpha: LEVEL, beta: LEVEL },
  latency: { p95_ratio: { min: 0, aboveMin: true }, min_windows: { min: 1, integer: true } },
  agreement: { min_rate: { min: 0, max: 1 }, min_samples: { min: 1, integer: true } },
};

function guard<K extends GuardName>(name: K, value: unknown, problems: Problems): Guards[K] | undefined {
  const path = `guards.${name}`;
  if (value === false || value === null) return null;
  if (value !== undefined && (typeof value !== 'object' || Array.isArray(value))) {
    problems.add(path, 'must be an object of settings (empty for the defaults), or false to turn the guard off');
    return undefined;
  }
  const ranges: Record<string, NumberRange> = GUARD_RANGES[name];
  const defaults: Record<string, number> = { ...DEFAULT_GUARDS[name] };
  const fields = record(value ?? {}, path, Object.keys(ranges), problems);
  if (fields === undefined) return undefined;
  const settings = Object.fromEntries(Object.entries(ranges).map(([field, range]) => [field, optionalNumber(fields[field], join(path, field), range, defaults[field]!, problems)]));
  return Object.values(settings).every((v) => v !== undefined) ? (settings as unknown as Guards[K]) : undefined;
}

function guards(value: unknown, problems: Problems): Guards | undefined {
  const fields = record(value ?? {}, 'guards', GUARD_NAMES, problems);
  if (fields === undefined) return undefined;
  const out = {
    accuracy: guard('accuracy', fields.accuracy, problems),
    psi: guard('psi', fields.psi, problems),
    errors: guard('errors', fields.errors, problems),
    latency: guard('latency', fields.latency, problems),
    agreement: guard('agreement', fields.agreement, problems),
  };
  return Object.values(out).every((g) => g !== undefined) ? (out as Guards) : undefined;
}

/** Validates a rollout declaration (parsed JSON) and fills its defaults. */
export function validateRolloutSpec(input: unknown): SpecResult {
  const problems = new Problems();
  const fields = record(input, '', SPEC_FIELDS, problems);
  if (fields === undefined) return { ok: false, errors: problems.list };
  const id = nonEmptyString(fields.id, 'id', problems);
  if (id !== undefined && !ID_PATTERN.test(id)) problems.add('id', 'must be 1 to 100 letters, digits, ".", "_" or "-"');
  const description = optionalString(fields.description, 'description', problems);
  const model = optionalString(fields.model, 'model', problems);
  if (model !== null && !MODEL_NAME_PATTERN.test(model)) problems.add('model', 'must be a model name of letters, digits, "_" or "-" (leave it out for the default model)');
  // A model's table is keyed by its name (router/model-tables.ts).
  const table = fields.table === undefined ? (model ?? 'default') : nonEmptyString(fields.table, 'table', problems);
  if (model !== null && table !== undefined && table !== model) problems.add('table', `model ${model}'s routing table is keyed by its name: leave table out or set it to "${model}"`);
  const baseline = version(fields.baseline, 'baseline', problems);
  const candidate = version(fields.candidate, 'candidate', problems);
  if (baseline !== undefined && baseline === candidate) problems.add('candidate', `must differ from baseline "${baseline}"`);
  const stickyBy = optionalString(fields.sticky_by, 'sticky_by', problems);
  if (stickyBy !== null && parseFieldName(stickyBy) === null) problems.add('sticky_by', `unknown field "${stickyBy}"; expected ${FIELD_GRAMMAR}`);
  const stepList = steps(fields.steps, problems);
  const guardSet = guards(fields.guards, problems);
  if (stepList !== undefined && guardSet !== undefined) {
    for (const [field, problem] of feasibilityProblems({ sticky_by: stickyBy, steps: stepList, guards: guardSet })) problems.add(field, problem);
  }
  if (
    problems.list.length > 0 || id === undefined || table === undefined || baseline === undefined || candidate === undefined ||
    stepList === undefined || guardSet === undefined
  ) {
    return { ok: false, errors: problems.list };
  }
  return { ok: true, spec: { id, description, table, model, baseline, candidate, sticky_by: stickyBy, steps: stepList, guards: guardSet } };
}

/** Validates, or throws with every problem listed. */
export function checkRolloutSpec(input: unknown): RolloutSpec {
  const result = validateRolloutSpec(input);
  if (!result.ok) throw new Error(`rollout is invalid:\n${result.errors.map((e) => `  - ${e}`).join('\n')}`);
  return result.spec;
}
