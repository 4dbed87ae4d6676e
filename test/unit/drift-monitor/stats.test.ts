import { describe, expect, it } from 'vitest';
import {
  erfc,
  latencyPercentiles,
  normalCdf,
  normalQuantile,
  percentileOfSorted,
  twoProportionZTest,
  twoSidedPValue,
  wilsonInterval,
} from '../../../drift-monitor/analytics/stats.ts';

describe('normal distribution', () => {
  it('erfc is within its documented relative error (1.2e-7) of tabulated values', () => {
    const table: Array<[number, number]> = [
      [0, 1],
      [0.5, 0.4795001221869535],
      [1, 0.1572992070502851],
      [2, 0.004677734981047266],
      [3, 2.209049699858544e-5],
      [-1, 1.842700792949715],
    ];
    for (const [x, expected] of table) expect(Math.abs(erfc(x) - expected) / expected).toBeLessThan(1.2e-7);
  });

  it('gives the familiar normal values', () => {
    expect(normalCdf(1.96)).toBeCloseTo(0.9750021, 6);
    expect(normalCdf(0)).toBeCloseTo(0.5, 7);
    expect(twoSidedPValue(1.959963984540054)).toBeCloseTo(0.05, 7);
    expect(normalQuantile(0.975)).toBeCloseTo(1.959963984540054, 8);
    expect(normalQuantile(0.01)).toBeCloseTo(-2.326347874040841, 8);
    expect(normalQuantile(0.999)).toBeCloseTo(3.090232306167813, 8);
    expect(() => normalQuantile(1)).toThrow(/0 < p < 1/);
  });
});

describe('wilsonInterval', () => {
  it('8 of 10 at 95% is [0.490, 0.943]', () => {
    // p = .8, z² = 3.8415, centre = (.8 + .19207)/1.38415 = .71674, half = 1.96·√(.016 + .0096)/1.38415 = .22658
    const { low, high } = wilsonInterval(8, 10);
    expect(low).toBeCloseTo(0.4902, 4);
    expect(high).toBeCloseTo(0.9433, 4);
  });

  it('matches the score-method intervals of Newcombe (1998), Stat Med 17:857–872', () => {
    const cases: Array<[number, number, number, number]> = [
      [81, 263, 0.2553, 0.3662],
      [15, 148, 0.0624, 0.1605],
      [0, 20, 0, 0.1611],
      [1, 29, 0.0061, 0.1718],
    ];
    for (const [k, n, low, high] of cases) {
      const ci = wilsonInterval(k, n);
      expect(ci.low).toBeCloseTo(low, 4);
      expect(ci.high).toBeCloseTo(high, 4);
    }
  });

  it('stays in [0, 1] at the extremes and narrows with confidence', () => {
    expect(wilsonInterval(10, 10).high).toBe(1);
    expect(wilsonInterval(0, 10).low).toBe(0);
    const ninety = wilsonInterval(8, 10, 0.9);
    expect(ninety.low).toBeGreaterThan(0.4902);
    expect(ninety.high).toBeLessThan(0.9433);
  });

  it('rejects impossible counts', () => {
    expect(() => wilsonInterval(1, 0)).toThrow(/trials > 0/);
    expect(() => wilsonInterval(11, 10)).toThrow(/successes <= trials/);
  });
});

describe('twoProportionZTest', () => {
  it('45/100 vs 60/100 gives z ≈ −2.124, p ≈ 0.034', () => {
    // pooled p = 105/200 = .525; SE = √(.525·.475·(1/100 + 1/100)) = √.0049875 = .0706222
    // z = (.45 − .60)/.0706222 = −2.12398; two-sided p = 2·(1 − Φ(2.12398)) = 0.03367
    const { z, pValue } = twoProportionZTest(45, 100, 60, 100);
    expect(z).toBeCloseTo(-2.12398, 4);
    expect(pValue).toBeCloseTo(0.03367, 4);
  });

  it('is symmetric and handles identical all-or-nothing samples', () => {
    expect(twoProportionZTest(60, 100, 45, 100).z).toBeCloseTo(2.12398, 4);
    expect(twoProportionZTest(10, 10, 20, 20)).toEqual({ z: 0, pValue: 1 });
    expect(twoProportionZTest(0, 10, 0, 20)).toEqual({ z: 0, pValue: 1 });
    expect(twoProportionZTest(30, 60, 15, 30).pValue).toBeCloseTo(1, 7);
  });
});

describe('percentiles (nearest rank)', () => {
  it('picks ranks ⌈q·n/100⌉', () => {
    const sorted = Array.from({ length: 20 }, (_, i) => i + 1); // 1..20
    expect(percentileOfSorted(sorted, 50)).toBe(10); // rank 10
    expect(percentileOfSorted(sorted, 95)).toBe(19); // rank 19
    expect(percentileOfSorted(sorted, 99)).toBe(20); // rank ⌈19.8⌉ = 20
    expect(percentileOfSorted(sorted, 0)).toBe(1);
    expect(percentileOfSorted(sorted, 100)).toBe(20);
    const thousand = Array.from({ length: 1000 }, (_, i) => i + 1);
    expect(percentileOfSorted(thousand, 99.9)).toBe(999);
  });

  it('sorts an unsorted sample and handles a single value', () => {
    expect(latencyPercentiles([5, 1, 4, 2, 3])).toEqual({ p50: 3, p95: 5, p99: 5 });
    expect(latencyPercentiles([7])).toEqual({ p50: 7, p95: 7, p99: 7 });
    expect(() => latencyPercentiles([])).toThrow(/empty/);
  });
});
