import { describe, expect, it } from 'vitest';
import { steadyRate } from '../../../bench/steady-rate.ts';

describe('steadyRate', () => {
  it('measures between the warm-up and the tail', () => {
    // Batch 16: 64 slow warm-up completions, then one every 2 ms, then a tail of two batches that waited a second.
    const stamps = [
      ...Array.from({ length: 64 }, (_, i) => i * 100),
      ...Array.from({ length: 500 }, (_, i) => 6_300 + 2 * (i + 1)),
      ...Array.from({ length: 32 }, () => 9_000),
    ];
    expect(steadyRate(stamps, 16)).toEqual({ ips: 500, measured: 500, from: 6_300, to: 7_300 });
  });

  it('does not depend on the order the stamps arrive in', () => {
    const stamps = Array.from({ length: 400 }, (_, i) => 1_000 + i * 4);
    expect(steadyRate([...stamps].reverse(), 8)).toEqual(steadyRate(stamps, 8));
    expect(steadyRate(stamps, 8).ips).toBeCloseTo(250, 6);
  });

  it('refuses runs too short to say anything', () => {
    expect(() => steadyRate(Array.from({ length: 100 }, (_, i) => i), 32)).toThrow(/too few/);
    expect(() => steadyRate(Array.from({ length: 300 }, () => 5), 8)).toThrow(/within one millisecond/);
  });
});
