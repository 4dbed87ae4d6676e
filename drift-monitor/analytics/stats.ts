/** Small, dependency-free statistics used by the drift monitor. */

/**
 * Complementary error function, Chebyshev fit from Numerical Recipes (2nd ed., §6.2, `erfcc`):
 * fractional (relative) error below 1.2e-7 everywhere, so small p-values stay accurate too.
 */
export function erfc(x: number): number {
  const z = Math.abs(x);
  const t = 1 / (1 + 0.5 * z);
  const tail =
    t *
    Math.exp(
      -z * z -
        1.26551223 +
        t *
          (1.00002368 +
            t *
              (0.37409196 +
                t *
                  (0.09678418 +
                    t * (-0.18628806 + t * (0.27886807 + t * (-1.13520398 + t * (1.48851587 + t * (-0.82215223 + t * 0.17087277)))))))),
    );
  return x >= 0 ? tail : 2 - tail;
}

/** Standard normal CDF Φ(z), via erfc (relative error < 1.2e-7). */
export function normalCdf(z: number): number {
  return 0.5 * erfc(-z / Math.SQRT2);
}

/** Two-sided p-value of a standard normal statistic: P(|Z| >= |z|). */
export function twoSidedPValue(z: number): number {
  return erfc(Math.abs(z) / Math.SQRT2);
}

// Acklam's rational approximation of the normal quantile, relative error below 1.15e-9.
const A = [-3.969683028665376e1, 2.209460984245205e2, -2.759285104469687e2, 1.38357751867269e2, -3.066479806614716e1, 2.506628277459239];
const B = [-5.447609879822406e1, 1.615858368580409e2, -1.556989798598866e2, 6.680131188771972e1, -1.328068155288572e1];
const C = [-7.784894002430293e-3, -3.223964580411365e-1, -2.400758277161838, -2.549732539343734, 4.374664141464968, 2.938163982698783];
const D = [7.784695709041462e-3, 3.224671290700398e-1, 2.445134137142996, 3.754408661907416];
const P_LOW = 0.02425;

function tailQuantile(q: number): number {
  const [c0, c1, c2, c3, c4, c5] = C as [number, number, number, number, number, number];
  const [d0, d1, d2, d3] = D as [number, number, number, number];
  return (((((c0 * q + c1) * q + c2) * q + c3) * q + c4) * q + c5) / ((((d0 * q + d1) * q + d2) * q + d3) * q + 1);
}

/** Inverse of Φ: the z with Φ(z) = p, for 0 < p < 1 (Acklam's algorithm, relative error < 1.15e-9). */
export function normalQuantile(p: number): number {
  if (!(p > 0 && p < 1)) throw new RangeError(`normal quantile needs 0 < p < 1, got ${p}`);
  if (p < P_LOW) return tailQuantile(Math.sqrt(-2 * Math.log(p)));
  if (p > 1 - P_LOW) return -tailQuantile(Math.sqrt(-2 * Math.log(1 - p)));
  const [a0, a1, a2, a3, a4, a5] = A as [number, number, number, number, number, number];
  const [b0, b1, b2, b3, b4] = B as [number, number, number, number, number];
  const q = p - 0.5;
  const r = q * q;
  return ((((((a0 * r + a1) * r + a2) * r + a3) * r + a4) * r + a5) * q) / (((((b0 * r + b1) * r + b2) * r + b3) * r + b4) * r + 1);
}

export interface Interval {
  low: number;
  high: number;
}

/**
 * Wilson score interval for a proportion of `successes` out of `trials` at the given two-sided confidence.
 * Unlike the normal (Wald) interval it stays inside [0, 1] and behaves at 0 and n successes.
 */
export function wilsonInterval(successes: number, trials: number, confidence = 0.95): Interval {
  if (!(Number.isInteger(trials) && trials > 0)) throw new RangeError(`Wilson interval needs trials > 0, got ${trials}`);
  if (!(Number.isInteger(successes) && successes >= 0 && successes <= trials)) {
    throw new RangeError(`Wilson interval needs 0 <= successes <= trials, got ${successes} of ${trials}`);
  }
  const z = normalQuantile(1 - (1 - confidence) / 2);
  const p = successes / trials;
  const z2n = (z * z) / trials;
  const denominator = 1 + z2n;
  const centre = (p + z2n / 2) / denominator;
  const halfWidth = (z * Math.sqrt((p * (1 - p)) / trials + z2n / (4 * trials))) / denominator;
  return { low: Math.max(0, centre - halfWidth), high: Math.min(1, centre + halfWidth) };
}

export interface ZTestResult {
  z: number;
  pValue: number;
}

/**
 * Pooled two-proportion z-test of H0: p1 = p2, two-sided. z > 0 when the first proportion is larger.
 * When the pooled proportion is 0 or 1 both samples are identical (all failures or all successes): z = 0, p = 1.
 */
export function twoProportionZTest(successes1: number, trials1: number, successes2: number, trials2: number): ZTestResult {
  for (const [s, n] of [[successes1, trials1], [successes2, trials2]] as const) {
    if (!(Number.isInteger(n) && n > 0 && Number.isInteger(s) && s >= 0 && s <= n)) {
      throw new RangeError(`two-proportion z-test needs 0 <= successes <= trials and trials > 0, got ${s} of ${n}`);
    }
  }
  const pooled = (successes1 + successes2) / (trials1 + trials2);
  const standardError = Math.sqrt(pooled * (1 - pooled) * (1 / trials1 + 1 / trials2));
  if (standardError === 0) return { z: 0, pValue: 1 };
  const z = (successes1 / trials1 - successes2 / trials2) / standardError;
  return { z, pValue: twoSidedPValue(z) };
}

/**
 * Nearest-rank percentile: the smallest sample value with at least q% of the samples at or below it
 * (rank ⌈q/100 · n⌉, q = 0 gives the minimum). Always an observed value, which suits latencies.
 * `sorted` must be in ascending order.
 */
export function percentileOfSorted(sorted: readonly number[], q: number): number {
  if (sorted.length === 0) throw new RangeError('percentile of an empty sample is undefined');
  if (!(q >= 0 && q <= 100)) throw new RangeError(`percentile must be in [0, 100], got ${q}`);
  // q·n first: (q/100)·n can land just above an integer (99.9/100 · 1000 = 999.0000000000001 → rank 1000).
  const rank = Math.max(1, Math.ceil((q * sorted.length) / 100));
  return sorted[rank - 1]!;
}

export interface LatencyPercentiles {
  p50: number;
  p95: number;
  p99: number;
}

/** p50/p95/p99 by nearest rank; sorts a copy of the sample. */
export function latencyPercentiles(sample: readonly number[]): LatencyPercentiles {
  const sorted = [...sample].sort((a, b) => a - b);
  return {
    p50: percentileOfSorted(sorted, 50),
    p95: percentileOfSorted(sorted, 95),
    p99: percentileOfSorted(sorted, 99),
  };
}
