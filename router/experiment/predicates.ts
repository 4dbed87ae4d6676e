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
 * | regex  | one or more patterns      | one of them matches (unanchored, flag u) | false         |
 * | exists | none, ["true"], ["false"] | none/"true": always; "false": never      | "false" only  |
 *
 * A missing value is "not equal" to anything, so neq/not_in hold for it; `exists ["false"]` selects
 * requests without the field. Comparisons are exact and case-sensitive.
 */
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

/** Compiles a regex predicate value; throws SyntaxError for an invalid pattern. */
export function compilePattern(pattern: string): RegExp {
  return new RegExp(pattern, 'u');
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
