/**
 * Statistical and stickiness properties of weighted splits over 100,000 keys. The keys are fixed, so these
 * tests are deterministic; the tolerances say how unlikely a failure would be for a uniform hash. Loops
 * collect mismatches and assert once, because an expect() per key costs more than routing the key.
 */
import { describe, expect, it } from 'vitest';
import { compileExperiment, type ExperimentRouter } from '../../../router/experiment/evaluate.ts';
import type { ExperimentConfig } from '../../../router/experiment/types.ts';
import { experiment, input } from './fixtures.ts';

const N = 100_000;
const users = Array.from({ length: N }, (_, i) => `user-${i}`);
/** Generous: 100,000 SHA-256 routes take well under a second, but shared CI machines can be very slow. */
const SLOW = 60_000;

function stickySplit(weights: Record<string, number>, id = 'ab-test'): ExperimentConfig {
  return experiment({
    id,
    versions: ['v1', 'v2', 'v3'],
    default_version: 'v1',
    rules: [
      {
        id: 'split',
        sticky_by: 'stickiness_key',
        split: Object.entries(weights).map(([version, weight]) => ({ version, weight })),
      },
    ],
  });
}

interface Assignments {
  versions: string[];
  buckets: number[];
}

/** Routes every user once with the given request id prefix; fails on anything but a sticky split decision. */
function assignAll(router: ExperimentRouter, requestPrefix = 'req'): Assignments {
  const versions: string[] = [];
  const buckets: number[] = [];
  for (const user of users) {
    const result = router.route(input({ request_id: `${requestPrefix}-${user}`, stickiness_key: user }));
    if (!result.ok || result.bucket === undefined || result.primary.reason !== 'sticky') {
      throw new Error(`expected a sticky split decision, got ${JSON.stringify(result)}`);
    }
    versions.push(result.primary.version);
    buckets.push(result.bucket);
  }
  return { versions, buckets };
}

function countOf(versions: readonly string[], version: string): number {
  return versions.reduce((count, v) => count + (v === version ? 1 : 0), 0);
}

/** |observed - n p| within 4 standard deviations of the binomial (a false alarm about 1 in 16,000). */
function expectBinomialShare(observed: number, share: number): void {
  const sd = Math.sqrt(N * share * (1 - share));
  expect(Math.abs(observed - N * share), `observed ${observed}, expected ${N * share} ± ${4 * sd}`).toBeLessThan(4 * sd);
}

const fiftyFiftyConfig = stickySplit({ v1: 50, v2: 50 });
let fiftyFiftyCache: Assignments | undefined;
function fiftyFifty(): Assignments {
  fiftyFiftyCache ??= assignAll(compileExperiment(fiftyFiftyConfig));
  return fiftyFiftyCache;
}

describe('weighted split over 100,000 keys', () => {
  it('50/50 gives each version half the keys', { timeout: SLOW }, () => {
    const { versions } = fiftyFifty();
    expectBinomialShare(countOf(versions, 'v1'), 0.5);
    expect(countOf(versions, 'v1') + countOf(versions, 'v2')).toBe(N);
  });

  it('a 90/10 canary gives the canary a tenth of the keys', { timeout: SLOW }, () => {
    const { versions } = assignAll(compileExperiment(stickySplit({ v1: 90, v2: 10 }, 'canary')));
    expectBinomialShare(countOf(versions, 'v2'), 0.1);
    expect(countOf(versions, 'v1') + countOf(versions, 'v2')).toBe(N);
  });

  it('50/30/20 across three versions passes a chi-square test (2 degrees of freedom, p = 0.001)', { timeout: SLOW }, () => {
    const weights = { v1: 5, v2: 3, v3: 2 };
    const { versions } = assignAll(compileExperiment(stickySplit(weights, 'three-way')));
    const chiSquare = Object.entries(weights).reduce((sum, [version, weight]) => {
      const expected = (N * weight) / 10;
      return sum + (countOf(versions, version) - expected) ** 2 / expected;
    }, 0);
    expect(chiSquare).toBeLessThan(13.82);
  });
});

describe('stickiness over 100,000 keys', () => {
  it('maps a key to the same version whatever the request id', { timeout: SLOW }, () => {
    const other = assignAll(compileExperiment(fiftyFiftyConfig), 'another-request');
    expect(other).toEqual(fiftyFifty());
  });

  it('maps a key to the same version after a fresh compile of an equal config (a restart)', { timeout: SLOW }, () => {
    const restarted = assignAll(compileExperiment(structuredClone(fiftyFiftyConfig)));
    expect(restarted).toEqual(fiftyFifty());
  });

  it('moving 50/50 to 60/40 moves only the keys of the buckets that changed hands, all to v1', { timeout: SLOW }, () => {
    const before = fiftyFifty();
    const after = assignAll(compileExperiment(stickySplit({ v1: 60, v2: 40 })));
    expect(after.buckets).toEqual(before.buckets);
    const unexpected: string[] = [];
    let moved = 0;
    before.buckets.forEach((bucket, i) => {
      const was = before.versions[i];
      const is = after.versions[i];
      const inMovedRange = bucket >= 5000 && bucket < 6000;
      if (inMovedRange ? was !== 'v2' || is !== 'v1' : was !== is) unexpected.push(`${users[i]} (bucket ${bucket}): ${was} -> ${is}`);
      if (was !== is) moved += 1;
    });
    expect(unexpected).toEqual([]);
    expectBinomialShare(moved, 0.1);
  });
});
