/**
 * Checks shared by the validators of JSON/Avro documents (experiments here, rollout declarations in rollouts/):
 * each problem is recorded with the path of the field it concerns, e.g. `rules[1].split[0].weight: must be > 0`,
 * so one pass reports everything that is wrong.
 */
export type Fields = Record<string, unknown>;

export class Problems {
  readonly list: string[] = [];
  add(path: string, message: string): void {
    this.list.push(`${path}: ${message}`);
  }
}

export function join(path: string, key: string): string {
  return path === '' ? key : `${path}.${key}`;
}

/** The object's fields (keys outside `allowed` are reported), or undefined when `value` is not an object. */
export function record(value: unknown, path: string, allowed: readonly string[], problems: Problems): Fields | undefined {
  if (typeof value !== 'object' || value === null || Array.isArray(value)) {
    problems.add(path === '' ? '(config)' : path, 'must be an object');
    return undefined;
  }
  const fields = value as Fields;
  for (const key of Object.keys(fields)) {
    if (!allowed.includes(key)) problems.add(join(path, key), `unknown field; expected one of ${allowed.join(', ')}`);
  }
  return fields;
}

export function nonEmptyString(value: unknown, path: string, problems: Problems): string | undefined {
  if (typeof value !== 'string' || value.trim() === '') {
    problems.add(path, 'must be a non-empty string');
    return undefined;
  }
  return value;
}

/** undefined (absent) and null both mean null, the Avro default. */
export function optionalString(value: unknown, path: string, problems: Problems): string | null {
  if (value === undefined || value === null) return null;
  if (typeof value === 'string') return value;
  problems.add(path, 'must be a string or null');
  return null;
}

/** Absent means [] (the Avro default); each item is checked by `item`, which may return undefined on error. */
export function optionalArray<T>(
  value: unknown,
  path: string,
  problems: Problems,
  item: (value: unknown, path: string) => T | undefined,
): T[] | undefined {
  if (value === undefined) return [];
  if (!Array.isArray(value)) {
    problems.add(path, 'must be an array');
    return undefined;
  }
  const items = value.map((entry, i) => item(entry, `${path}[${i}]`));
  return items.every((entry) => entry !== undefined) ? (items as T[]) : undefined;
}

export function string(value: unknown, path: string, problems: Problems): string | undefined {
  if (typeof value === 'string') return value;
  problems.add(path, 'must be a string');
  return undefined;
}

export interface NumberRange {
  min?: number;
  max?: number;
  /** The minimum itself is not allowed. */
  aboveMin?: boolean;
  integer?: boolean;
}

function describeRange(r: NumberRange): string {
  const kind = r.integer ? 'an integer' : 'a number';
  const low = r.min === undefined ? '' : `${r.aboveMin ? '>' : '>='} ${r.min}`;
  const high = r.max === undefined ? '' : `<= ${r.max}`;
  return [kind, [low, high].filter(Boolean).join(' and ')].filter(Boolean).join(' ');
}

/** Absent means `fallback`; otherwise a finite number within `range`. */
export function optionalNumber(value: unknown, path: string, range: NumberRange, fallback: number, problems: Problems): number | undefined {
  if (value === undefined) return fallback;
  const ok =
    typeof value === 'number' &&
    Number.isFinite(value) &&
    (!range.integer || Number.isInteger(value)) &&
    (range.min === undefined || (range.aboveMin ? value > range.min : value >= range.min)) &&
    (range.max === undefined || value <= range.max);
  if (ok) return value;
  problems.add(path, `must be ${describeRange(range)}, got ${JSON.stringify(value)}`);
  return undefined;
}
