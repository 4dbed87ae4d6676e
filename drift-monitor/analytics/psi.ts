/**
 * Population Stability Index between an actual and an expected distribution over the same bins:
 * PSI = Σ (aᵢ − eᵢ) · ln(aᵢ / eᵢ), with aᵢ, eᵢ the shares of bin i.
 */

export const DEFAULT_PSI_EPSILON = 1e-4;

export type Severity = 'stable' | 'moderate' | 'significant';

export interface SeverityThresholds {
  /** PSI at or above this is 'moderate'. */
  moderate: number;
  /** PSI at or above this is 'significant'. */
  significant: number;
}

export const DEFAULT_SEVERITY_THRESHOLDS: SeverityThresholds = { moderate: 0.1, significant: 0.25 };

/**
 * Turns counts or probabilities into shares that are all positive, so ln(aᵢ/eᵢ) is defined:
 * 1. divide by the total (counts and probabilities alike; probabilities that already sum to 1 stay as they are);
 * 2. replace every share that is exactly 0 by epsilon;
 * 3. divide by the new total so the shares sum to 1 again.
 * Only empty bins change; non-empty bins keep their proportions to each other.
 */
export function smoothedShares(values: readonly number[], epsilon: number = DEFAULT_PSI_EPSILON): number[] {
  if (!(epsilon > 0 && epsilon < 1)) throw new RangeError(`PSI epsilon must be in (0, 1), got ${epsilon}`);
  if (values.length === 0) throw new RangeError('PSI needs at least one bin');
  let total = 0;
  for (const v of values) {
    if (!Number.isFinite(v) || v < 0) throw new RangeError(`PSI bin values must be finite and >= 0, got ${v}`);
    total += v;
  }
  if (total === 0) throw new RangeError('PSI needs at least one non-empty bin on each side');
  const shares = values.map((v) => (v === 0 ? epsilon : v / total));
  const smoothedTotal = shares.reduce((sum, s) => sum + s, 0);
  return shares.map((s) => s / smoothedTotal);
}

/** PSI of `actual` against `expected`; both are counts or probabilities per bin, same length. */
export function psi(
  actual: readonly number[],
  expected: readonly number[],
  epsilon: number = DEFAULT_PSI_EPSILON,
): number {
  if (actual.length !== expected.length) {
    throw new RangeError(`PSI bins differ: actual has ${actual.length}, expected has ${expected.length}`);
  }
  const a = smoothedShares(actual, epsilon);
  const e = smoothedShares(expected, epsilon);
  let sum = 0;
  for (let i = 0; i < a.length; i++) {
    const ai = a[i]!;
    const ei = e[i]!;
    sum += (ai - ei) * Math.log(ai / ei);
  }
  return sum;
}

export function severity(value: number, thresholds: SeverityThresholds = DEFAULT_SEVERITY_THRESHOLDS): Severity {
  if (value >= thresholds.significant) return 'significant';
  if (value >= thresholds.moderate) return 'moderate';
  return 'stable';
}

const SEVERITY_RANK: Record<Severity, number> = { stable: 0, moderate: 1, significant: 2 };

/** The worst of several severities; 'stable' for none. */
export function worstSeverity(levels: Iterable<Severity>): Severity {
  let worst: Severity = 'stable';
  for (const level of levels) if (SEVERITY_RANK[level] > SEVERITY_RANK[worst]) worst = level;
  return worst;
}

export function validateThresholds(t: SeverityThresholds): SeverityThresholds {
  if (!(t.moderate > 0 && t.significant > t.moderate && Number.isFinite(t.significant))) {
    throw new RangeError(
      `PSI thresholds must satisfy 0 < moderate < significant, got moderate=${t.moderate} significant=${t.significant}`,
    );
  }
  return t;
}
