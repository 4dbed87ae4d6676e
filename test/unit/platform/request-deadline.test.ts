import { describe, expect, it } from 'vitest';
import { readInferenceSettings } from '../../../inference-consumers/service/settings.ts';
import { PipelineError } from '../../../platform/errors.ts';
import { effectiveDeadline, expiryError } from '../../../platform/request-deadline.ts';
import { readRouterSettings } from '../../../router/settings.ts';
import { readEnv } from './read-env.ts';

const submitted = 1_000_000;

describe('request deadlines', () => {
  it('uses the request\'s own deadline, else submitted_at plus the maximum age, else none', () => {
    expect(effectiveDeadline({ submitted_at: submitted, deadline: submitted + 5 }, 60_000)).toBe(submitted + 5);
    expect(effectiveDeadline({ submitted_at: submitted, deadline: null }, 60_000)).toBe(submitted + 60_000);
    expect(effectiveDeadline({ submitted_at: submitted }, 60_000)).toBe(submitted + 60_000);
    expect(effectiveDeadline({ submitted_at: submitted, deadline: null }, 0)).toBeNull();
  });

  it('expires a request at its deadline, not before, with the stage named', () => {
    const request = { submitted_at: submitted, deadline: submitted + 10_000 };
    expect(expiryError(request, 'inference', submitted + 9_999, 0)).toBeUndefined();
    const error = expiryError(request, 'inference', submitted + 12_500, 0);
    expect(error).toMatchObject({ stage: 'inference', errorClass: 'Expired', transient: false });
    expect(error?.message).toMatch(/^expired 2500 ms ago \(its deadline: .*\), 12500 ms after it was submitted/);
    expect(expiryError(request, 'route', submitted + 10_000, 0)).toMatchObject({ stage: 'route', errorClass: 'Expired' });
  });

  it('builds the expiry error without a stack trace (half the cost of skipping a record) and leaves the limit as it was', () => {
    const limit = Error.stackTraceLimit;
    const error = expiryError({ submitted_at: submitted, deadline: submitted + 1 }, 'inference', submitted + 2, 0);
    expect(error).toBeInstanceOf(PipelineError);
    expect(error?.stack?.split('\n').filter((line) => line.trimStart().startsWith('at '))).toEqual([]);
    expect(Error.stackTraceLimit).toBe(limit);
    expect(new Error('x').stack).toMatch(/\n\s+at /);
  });

  it('never expires a request without a deadline when no maximum age is set', () => {
    expect(expiryError({ submitted_at: 0, deadline: null }, 'route', Number.MAX_SAFE_INTEGER, 0)).toBeUndefined();
  });

  it('names the maximum age when it, not the request, set the deadline', () => {
    const error = expiryError({ submitted_at: submitted, deadline: null }, 'route', submitted + 61_000, 60_000);
    expect(error?.message).toContain('submitted_at + REQUEST_MAX_AGE_MS (60000 ms)');
  });

  it('reads REQUEST_MAX_AGE_MS in the router and the consumer (default off) and names it when invalid', () => {
    expect(readEnv({}, readRouterSettings).settings.limits.maxAgeMs).toBe(0);
    expect(readEnv({ REQUEST_MAX_AGE_MS: '30000' }, readRouterSettings).settings.limits.maxAgeMs).toBe(30_000);
    expect(readEnv({ REQUEST_MAX_AGE_MS: '30000' }, readInferenceSettings).settings.requestMaxAgeMs).toBe(30_000);
    expect(readEnv({ REQUEST_MAX_AGE_MS: '-1' }, readInferenceSettings).problems.join()).toMatch(/REQUEST_MAX_AGE_MS/);
    expect(readEnv({ REQUEST_MAX_AGE_MS: '10s' }, readRouterSettings).problems.join()).toMatch(/REQUEST_MAX_AGE_MS/);
  });
});
