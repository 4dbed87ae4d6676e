import { describe, expect, it } from 'vitest';
import { psi, severity, smoothedShares, worstSeverity, validateThresholds } from '../../../drift-monitor/analytics/psi.ts';

describe('psi', () => {
  it('matches a hand computation from counts', () => {
    // expected 50/30/20 → shares .5 .3 .2; actual 30/30/40 → .3 .3 .4
    // (.3−.5)·ln(.3/.5) = (−.2)(−.5108256) = .1021651
    // (.3−.3)·ln(1)     = 0
    // (.4−.2)·ln(.4/.2) = (.2)(.6931472)  = .1386294
    // sum = .2407946
    expect(psi([30, 30, 40], [50, 30, 20])).toBeCloseTo(0.2407946, 6);
  });

  it('treats counts and probabilities alike', () => {
    expect(psi([3, 3, 4], [0.5, 0.3, 0.2])).toBeCloseTo(psi([0.3, 0.3, 0.4], [500, 300, 200]), 12);
  });

  it('replaces an empty expected bin by epsilon and renormalises', () => {
    // expected .5 .5 0 → .5 .5 1e-4, total 1.0001 → .49995 .49995 .00009999
    // actual .5 .25 .25 (no empty bin, unchanged)
    // (.5−.49995)·ln(.5/.49995)        = 0.00005 · 0.0001000  ≈ 5.0e-9
    // (.25−.49995)·ln(.25/.49995)      = (−.24995)(−.6930472) = .1732271
    // (.25−.00009999)·ln(.25/.00009999) = (.2499)(7.824046)   = 1.9552542
    // sum ≈ 2.1284813
    expect(psi([0.5, 0.25, 0.25], [0.5, 0.5, 0])).toBeCloseTo(2.1284813, 6);
  });

  it('handles empty bins on both sides, in different places', () => {
    // actual 0/10/10 → 1e-4 .5 .5 → /1.0001 → .00009999 .49995 .49995; expected 10/10/0 → mirrored.
    // bin 1: (.00009999−.49995)·ln(.00009999/.49995) = (−.49985)(−8.517193) = 4.2573191; bin 2: 0; bin 3: same as bin 1.
    // sum = 8.5146383
    expect(psi([0, 10, 10], [10, 10, 0])).toBeCloseTo(8.5146383, 6);
  });

  it('uses the configured epsilon', () => {
    expect(psi([0.5, 0.25, 0.25], [0.5, 0.5, 0], 1e-3)).toBeLessThan(psi([0.5, 0.25, 0.25], [0.5, 0.5, 0], 1e-4));
    expect(smoothedShares([0, 1], 0.01)).toEqual([0.01 / 1.01, 1 / 1.01]);
  });

  it('is 0 for identical distributions, empty bins included', () => {
    expect(psi([10, 20, 70], [10, 20, 70])).toBe(0);
    expect(psi([1, 2, 7], [10, 20, 70])).toBeCloseTo(0, 15);
    expect(psi([0.5, 0.5, 0], [0.5, 0.5, 0])).toBe(0);
  });

  it('rejects inputs it cannot compare', () => {
    expect(() => psi([1, 2], [1, 2, 3])).toThrow(/bins differ/);
    expect(() => psi([0, 0], [1, 1])).toThrow(/non-empty/);
    expect(() => psi([-1, 2], [1, 1])).toThrow(/>= 0/);
    expect(() => psi([], [])).toThrow(/at least one bin/);
    expect(() => psi([1, 1], [1, 1], 0)).toThrow(/epsilon/);
  });
});

describe('severity', () => {
  it('uses 0.1 and 0.25 by default, lower bound inclusive', () => {
    expect(severity(0)).toBe('stable');
    expect(severity(0.0999999)).toBe('stable');
    expect(severity(0.1)).toBe('moderate');
    expect(severity(0.2499999)).toBe('moderate');
    expect(severity(0.25)).toBe('significant');
    expect(severity(3)).toBe('significant');
  });

  it('follows configured thresholds', () => {
    const t = { moderate: 0.2, significant: 0.5 };
    expect(severity(0.15, t)).toBe('stable');
    expect(severity(0.2, t)).toBe('moderate');
    expect(severity(0.5, t)).toBe('significant');
    expect(() => validateThresholds({ moderate: 0.3, significant: 0.2 })).toThrow(/moderate < significant/);
  });

  it('reports the worst of several', () => {
    expect(worstSeverity([])).toBe('stable');
    expect(worstSeverity(['stable', 'significant', 'moderate'])).toBe('significant');
    expect(worstSeverity(['stable', 'moderate'])).toBe('moderate');
  });
});
