import { describe, expect, it } from 'vitest';
import { compilePattern, compilePredicate, MAX_REGEX_INPUT_LENGTH } from '../../../router/experiment/predicates.ts';
import type { Predicate, RoutingInput } from '../../../router/experiment/types.ts';
import { input } from './fixtures.ts';

function holds(predicate: Predicate, routingInput: RoutingInput): boolean {
  return compilePredicate(predicate)(routingInput);
}

const withSource = input({ source: 'web' });
const withoutSource = input({ source: null });

describe('predicates', () => {
  it('eq: equal value only; a missing field never equals', () => {
    const p: Predicate = { field: 'source', op: 'eq', values: ['web'] };
    expect(holds(p, withSource)).toBe(true);
    expect(holds(p, input({ source: 'Web' }))).toBe(false);
    expect(holds(p, withoutSource)).toBe(false);
  });

  it('neq: a different or missing value holds', () => {
    const p: Predicate = { field: 'source', op: 'neq', values: ['web'] };
    expect(holds(p, withSource)).toBe(false);
    expect(holds(p, input({ source: 'batch' }))).toBe(true);
    expect(holds(p, withoutSource)).toBe(true);
  });

  it('in: one of the values; a missing field is in no list', () => {
    const p: Predicate = { field: 'source', op: 'in', values: ['web', 'mobile'] };
    expect(holds(p, input({ source: 'mobile' }))).toBe(true);
    expect(holds(p, input({ source: 'batch' }))).toBe(false);
    expect(holds(p, withoutSource)).toBe(false);
  });

  it('not_in: none of the values; a missing field holds', () => {
    const p: Predicate = { field: 'source', op: 'not_in', values: ['web', 'mobile'] };
    expect(holds(p, input({ source: 'mobile' }))).toBe(false);
    expect(holds(p, input({ source: 'batch' }))).toBe(true);
    expect(holds(p, withoutSource)).toBe(true);
  });

  it('prefix: any of the prefixes', () => {
    const p: Predicate = { field: 'uri', op: 'prefix', values: ['s3://images/', 'https://cdn.example.com/'] };
    expect(holds(p, input({ uri: 's3://images/x.png' }))).toBe(true);
    expect(holds(p, input({ uri: 'https://cdn.example.com/y.jpg' }))).toBe(true);
    expect(holds(p, input({ uri: 'file:///tmp/z.png' }))).toBe(false);
    expect(holds({ field: 'source', op: 'prefix', values: [''] }, withoutSource)).toBe(false);
  });

  it('regex: unanchored, any pattern, unicode-aware; missing field never matches', () => {
    const p: Predicate = { field: 'uri', op: 'regex', values: ['\\.png$', '^https://'] };
    expect(holds(p, input({ uri: 's3://b/a.png' }))).toBe(true);
    expect(holds(p, input({ uri: 'https://h/a.jpg' }))).toBe(true);
    expect(holds(p, input({ uri: 's3://b/a.jpg' }))).toBe(false);
    expect(holds({ field: 'metadata.user', op: 'regex', values: ['^\\p{L}+$'] }, input({ metadata: { user: 'zoë' } }))).toBe(true);
    expect(holds({ field: 'source', op: 'regex', values: ['.*'] }, withoutSource)).toBe(false);
  });

  it('regex: repeated calls give the same answer (no lastIndex state)', () => {
    const compiled = compilePredicate({ field: 'uri', op: 'regex', values: ['png'] });
    const routingInput = input({ uri: 'a.png' });
    expect([1, 2, 3].map(() => compiled(routingInput))).toEqual([true, true, true]);
  });

  it('regex: a catastrophic-backtracking pattern on a long producer value finishes in linear time', () => {
    // With RegExp, /(a+)+$/ on 30 "a"s and a "!" already takes seconds, doubling with each extra "a".
    const p: Predicate = { field: 'metadata.user', op: 'regex', values: ['(a+)+$', '^(a|aa)+$', '(x+x+)+y'] };
    const compiled = compilePredicate(p);
    const value = `${'a'.repeat(100_000)}!`;
    const started = performance.now();
    const results = Array.from({ length: 20 }, () => compiled(input({ metadata: { user: value } })));
    const elapsedMs = performance.now() - started;
    process.stdout.write(`${JSON.stringify({ test: 'regex-linear-time', patterns: p.values, value_length: value.length, calls: 20, elapsed_ms: Number(elapsedMs.toFixed(2)) })}\n`);
    // The value is capped before matching: its first 1,024 characters are all "a", so "(a+)+$" matches that prefix.
    expect(results.every((r) => r)).toBe(true);
  });

  it('regex: a value longer than the cap is matched as its first MAX_REGEX_INPUT_LENGTH characters', () => {
    const head = 'h'.repeat(MAX_REGEX_INPUT_LENGTH - 4);
    expect(compilePattern('^h+tail$').test(`${head}tail`)).toBe(true);
    // The documented cost of prefix matching: "$" matches at the cut, so the "!" past the cap is not seen.
    expect(compilePattern('^h+tail$').test(`${head}tail!`)).toBe(true);
    expect(compilePattern('^h+tail$').test(`${head}tai!`)).toBe(false);
    expect(compilePattern('tail2').test(`${head}tail2`)).toBe(false); // "2" is character 1,025
    expect(compilePattern('^h+tail').test(`${head}tail${'x'.repeat(10_000)}`)).toBe(true);
    expect(compilePattern('x$').test(`${head}tail${'x'.repeat(10_000)}`)).toBe(false);
  });

  it('exists: present (an empty string counts), or with ["false"] absent', () => {
    expect(holds({ field: 'stickiness_key', op: 'exists', values: [] }, input({ stickiness_key: 'u1' }))).toBe(true);
    expect(holds({ field: 'stickiness_key', op: 'exists', values: [] }, input({ stickiness_key: '' }))).toBe(true);
    expect(holds({ field: 'stickiness_key', op: 'exists', values: ['true'] }, input())).toBe(false);
    expect(holds({ field: 'stickiness_key', op: 'exists', values: ['false'] }, input())).toBe(true);
    expect(holds({ field: 'stickiness_key', op: 'exists', values: ['false'] }, input({ stickiness_key: 'u1' }))).toBe(false);
  });

  it('reads every request field', () => {
    const routingInput = input({ request_id: 'r9', uri: 'u', stickiness_key: 'k', pinned_version: 'v2', source: 's' });
    for (const [field, value] of [['request_id', 'r9'], ['uri', 'u'], ['stickiness_key', 'k'], ['pinned_version', 'v2'], ['source', 's']]) {
      expect(holds({ field: field!, op: 'eq', values: [value!] }, routingInput), field).toBe(true);
    }
  });

  it('reads metadata entries and headers by name, case-sensitively', () => {
    const routingInput = input({ metadata: { tenant: 'acme' } }, { 'x-canary': '1' });
    expect(holds({ field: 'metadata.tenant', op: 'eq', values: ['acme'] }, routingInput)).toBe(true);
    expect(holds({ field: 'header.x-canary', op: 'eq', values: ['1'] }, routingInput)).toBe(true);
    expect(holds({ field: 'header.X-Canary', op: 'exists', values: [] }, routingInput)).toBe(false);
    expect(holds({ field: 'metadata.x-canary', op: 'exists', values: [] }, routingInput)).toBe(false);
  });

  it('does not mistake inherited object properties for metadata or headers', () => {
    expect(holds({ field: 'metadata.constructor', op: 'exists', values: [] }, input())).toBe(false);
    expect(holds({ field: 'header.toString', op: 'exists', values: [] }, input())).toBe(false);
    expect(holds({ field: 'metadata.__proto__', op: 'neq', values: ['x'] }, input())).toBe(true);
  });
});
