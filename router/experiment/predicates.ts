/**
 * Predicate semantics, in one place for validation and evaluation.
 *
 * | op     | values                    | holds when the field is present and ...  | missing field |
 * |--------|---------------------------|------------------------------------------|---------------|
 * | eq     | exactly one               | equals it                                | false         |
 * | neq    | exactly one               | differs from it                          | true          |
 * | in     | one or more               | equals one of them                       | false         |
 * | not_in | one or more               | equals none of them                      | true          |
 * | prefix | one or more               | starts with one of them                  | false         |
 * | regex  | one or more RE2 patterns  | one of them matches (unanchored)         | false         |
 * | exists | none, ["true"], ["false"] | none/"true": always; "false": never      | "false" only  |
 *
 * A missing value is "not equal" to anything, so neq/not_in hold for it; `exists ["false"]` selects
 * requests without the field. Comparisons are exact and case-sensitive.
 *
 * Regex values are RE2 syntax (https://github.com/google/re2/wiki/Syntax), run by re2js, a pure-JavaScript RE2
 * port whose matching time is linear in the input: the field values are producer-controlled, and a backtracking
 * engine (RegExp) lets a pattern such as `(a+)+$` take exponential time on a crafted value and stall the router.
 * Lookarounds and backreferences have no linear-time algorithm, so RE2 refuses them and validation reports it.
 * A regex sees at most the first MAX_REGEX_INPUT_LENGTH characters of a value: a longer value is matched as
 * that prefix, which keeps the cost per record bounded and still lets start-anchored patterns (hosts, buckets)
 * work on long presigned URIs; an end-anchored pattern cannot see past the cap.
 */
import { RE2JS } from 're2js';
import { fieldReader, parseFieldName } from './fields.ts';
import type { Predicate, PredicateOp, RoutingInput } from './types.ts';

export type CompiledPredicate = (input: RoutingInput) => boolean;

/** Why `values` do not suit `op`, or null when they do. */
export function valuesProblem(op: PredicateOp, values: readonly string[]): string | null {
  switch (op) {
    case 'eq':
    case 'neq':
      return values.length === 1 ? null : `${op} needs exactly one value (use ${op === 'eq' ? 'in' : 'not_in'} for several)`;
    case 'in':
    case 'not_in':
    case 'prefix':
    case 'regex':
      return values.length >= 1 ? null : `${op} needs at least one value`;
    case 'exists':
      return values.length === 0 || (values.length === 1 && (values[0] === 'true' || values[0] === 'false'))
        ? null
        : 'exists takes no value, or ["true"] or ["false"]';
  }
}

/** Characters of a field value a regex predicate looks at; the rest of a longer value is ignored. */
export const MAX_REGEX_INPUT_LENGTH = 1024;

export interface CompiledPattern {
  test(value: string): boolean;
}

/**
 * Compiles a regex predicate value with RE2; throws (RE2JSSyntaxException) for an invalid or non-linear pattern.
 * Matching takes the value's first MAX_REGEX_INPUT_LENGTH characters.
 */
export function compilePattern(pattern: string): CompiledPattern {
  const re = RE2JS.compile(pattern);
  return { test: (value) => re.test(value.length > MAX_REGEX_INPUT_LENGTH ? value.slice(0, MAX_REGEX_INPUT_LENGTH) : value) };
}

/** The predicate must have passed validation (known field and op, suitable values, valid patterns). */
export function compilePredicate(predicate: Predicate): CompiledPredicate {
  const ref = parseFieldName(predicate.field);
  if (ref === null) throw new Error(`unknown field "${predicate.field}"; validate the experiment first`);
  const read = fieldReader(ref);
  const { values } = predicate;
  switch (predicate.op) {
    case 'eq': {
      const expected = values[0];
      return (input) => read(input) === expected;
    }
    case 'neq': {
      const expected = values[0];
      return (input) => read(input) !== expected;
    }
    case 'in': {
      const set = new Set(values);
      return (input) => {
        const value = read(input);
        return value !== undefined && set.has(value);
      };
    }
    case 'not_in': {
      const set = new Set(values);
      return (input) => {
        const value = read(input);
        return value === undefined || !set.has(value);
      };
    }
    case 'prefix':
      return (input) => {
        const value = read(input);
        return value !== undefined && values.some((prefix) => value.startsWith(prefix));
      };
    case 'regex': {
      const patterns = values.map(compilePattern);
      return (input) => {
        const value = read(input);
        return value !== undefined && patterns.some((pattern) => pattern.test(value));
      };
    }
    case 'exists': {
      const wanted = values[0] !== 'false';
      return (input) => (read(input) !== undefined) === wanted;
    }
  }
}
