/** Online accuracy of a variant and the A/B comparison of two variants, from correct/labeled counts. */
import { twoProportionZTest, wilsonInterval } from './stats.ts';

export interface Proportion {
  /** Successes: correct predictions, or agreeing served/shadow pairs. */
  hits: number;
  trials: number;
}

export interface ProportionEstimate extends Proportion {
  rate: number;
  /** Wilson score interval. */
  low: number;
  high: number;
}

/** The rate with its Wilson interval; null with no trials. */
export function estimateProportion(p: Proportion, confidence = 0.95): ProportionEstimate | null {
  if (p.trials === 0) return null;
  const { low, high } = wilsonInterval(p.hits, p.trials, confidence);
  return { hits: p.hits, trials: p.trials, rate: p.hits / p.trials, low, high };
}

export interface VariantComparison {
  accuracyA: number;
  accuracyB: number;
  /** accuracyA − accuracyB. */
  difference: number;
  /** Pooled two-proportion z; positive when A is more accurate. */
  z: number;
  /** Two-sided. */
  pValue: number;
  alpha: number;
  significant: boolean;
}

/** A/B test of two variants' accuracy (pooled two-proportion z-test); null until both have labels. */
export function compareVariants(a: Proportion, b: Proportion, alpha = 0.05): VariantComparison | null {
  if (!(alpha > 0 && alpha < 1)) throw new RangeError(`significance level alpha must be in (0, 1), got ${alpha}`);
  if (a.trials === 0 || b.trials === 0) return null;
  const { z, pValue } = twoProportionZTest(a.hits, a.trials, b.hits, b.trials);
  const accuracyA = a.hits / a.trials;
  const accuracyB = b.hits / b.trials;
  return { accuracyA, accuracyB, difference: accuracyA - accuracyB, z, pValue, alpha, significant: pValue < alpha };
}
