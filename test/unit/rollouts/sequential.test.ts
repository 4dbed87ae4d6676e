import { describe, expect, it } from 'vitest';
import { anytimePValue, armEstimate, compareArms, halfWidth, mixtureRho } from '../../../rollouts/sequential.ts';
import { prng } from '../../../rollouts/simulation.ts';

describe('sequential test', () => {
  it('the one-sided normal-mixture boundary is crossed by a random walk with no drift at most at its level, over every look', () => {
    // 2000 walks of 4000 N(0, 1) steps, looked at after every step: S_t ≥ u(t) at some t is the error.
    const a = 0.05;
    const rho = mixtureRho(500, a);
    const random = prng(11);
    let crossed = 0;
    const walks = 2000;
    for (let w = 0; w < walks; w++) {
      let s = 0;
      for (let t = 1; t <= 4000; t++) {
        s += Math.sqrt(-2 * Math.log(1 - random())) * Math.cos(2 * Math.PI * random());
        if (s >= halfWidth(t, a, rho) * t) {
          crossed += 1;
          break;
        }
      }
    }
    // Binomial tolerance: 3 standard deviations above the level.
    expect(crossed / walks).toBeLessThanOrEqual(a + 3 * Math.sqrt((a * (1 - a)) / walks));
    // A fixed-level test repeated at every look (z ≥ 1.645) crosses in about half of these walks.
    expect(crossed / walks).toBeGreaterThan(0.005);
  });

  it('the anytime p-value is the level at which the lower bound reaches the margin', () => {
    const rho = mixtureRho(2000, 0.01);
    const information = 1500;
    const estimate = 0.05 + halfWidth(information, 0.01, rho);
    expect(anytimePValue(estimate, information, 0.05, rho)).toBeCloseTo(0.01, 6);
    expect(anytimePValue(0.04, information, 0.05, rho)).toBe(1);
  });

  it('shrinks proportions (Agresti-Caffo) so that 0 % and 100 % keep a width', () => {
    expect(armEstimate({ events: 30, trials: 30 })).toEqual({ p: 31 / 32, variance: (31 / 32) * (1 / 32) / 32 });
    const t = compareArms({ events: 30, trials: 30 }, { events: 30, trials: 30 }, { margin: 0.05, alpha: 0.01, beta: 0.05 });
    expect(t.estimate).toBe(0);
    expect(t.upper).toBeGreaterThan(0.05);
    expect(t.outcome).toBe('undecided');
  });

  it('clusters: the variance of a mean over users is the binomial one times the design effect 1 + (m - 1) rho', () => {
    const independent = armEstimate({ events: 900, trials: 1000 }).variance;
    const clustered = armEstimate({ events: 900, trials: 1000, users: 50, user_correlation: 0.3 }).variance;
    // m = 1002 / 50 labels per user (the shrunk count).
    expect(clustered / independent).toBeCloseTo(1 + (1002 / 50 - 1) * 0.3, 6);
    // More users than labels: each label its own user, no inflation.
    expect(armEstimate({ events: 90, trials: 100, users: 500, user_correlation: 0.3 }).variance).toBeCloseTo(armEstimate({ events: 90, trials: 100 }).variance, 12);
  });
});
