/**
 * Parity between the user's own pipeline and serving: a JSONL file of expected outputs per image against what
 * the serving path produced for the same images. Pure.
 *
 * Expected line: {"image": "<file name or path relative to the samples>", "top1": "<label>" | <class index>,
 *                 "score": <top-1 score>}  ("label" is accepted for "top1").
 */
import { ImportUsageError } from './spec.ts';

export interface ExpectedOutput {
  image: string;
  top1: string | number;
  score: number;
}

export interface ServedOutput {
  image: string;
  index: number;
  label: string;
  score: number;
}

export interface ParityThresholds {
  /** Least share of images whose top-1 must agree (0..1). */
  minAgreement: number;
  /** Largest accepted absolute difference of the top-1 score. */
  maxScoreDiff: number;
}

export interface ParityReport {
  compared: number;
  agreed: number;
  agreement: number;
  /** Largest |expected score - served score of the expected class| over the compared images. */
  maxScoreDiff: number;
  worstImage: string | undefined;
  /** Images with a different top-1: at most 10 named. */
  disagreements: Array<{ image: string; expected: string | number; served: string; expectedScore: number; servedScore: number }>;
  /** Expected images that were not among the samples. */
  missing: string[];
  passed: boolean;
}

export function parseExpected(text: string, source: string): ExpectedOutput[] {
  const out: ExpectedOutput[] = [];
  text.split(/\r?\n/).forEach((line, i) => {
    if (line.trim() === '') return;
    let value: Record<string, unknown>;
    try {
      value = JSON.parse(line) as Record<string, unknown>;
    } catch (err) {
      throw new ImportUsageError(`${source}:${i + 1}: not JSON (${(err as Error).message})`);
    }
    const top1 = value.top1 ?? value.label;
    if (typeof value.image !== 'string' || (typeof top1 !== 'string' && typeof top1 !== 'number') || typeof value.score !== 'number') {
      throw new ImportUsageError(`${source}:${i + 1}: expected {"image": string, "top1": label or class index, "score": number}, got ${line.slice(0, 120)}`);
    }
    out.push({ image: value.image, top1, score: value.score });
  });
  if (out.length === 0) throw new ImportUsageError(`${source} holds no expected outputs`);
  return out;
}

/**
 * `probabilitiesOf(image)` gives the served scores of every class so that the score difference is taken for the
 * class the user expected even where the top-1 differs.
 */
export function compareParity(
  expected: readonly ExpectedOutput[],
  served: ReadonlyMap<string, ServedOutput & { probabilities: ArrayLike<number> }>,
  labels: readonly string[],
  thresholds: ParityThresholds,
): ParityReport {
  let compared = 0;
  let agreed = 0;
  let maxScoreDiff = 0;
  let worstImage: string | undefined;
  const disagreements: ParityReport['disagreements'] = [];
  const missing: string[] = [];
  for (const e of expected) {
    const s = served.get(e.image);
    if (!s) {
      missing.push(e.image);
      continue;
    }
    compared++;
    const expectedIndex = typeof e.top1 === 'number' ? e.top1 : labels.indexOf(e.top1);
    if (expectedIndex === s.index) agreed++;
    else if (disagreements.length < 10) disagreements.push({ image: e.image, expected: e.top1, served: s.label, expectedScore: e.score, servedScore: s.score });
    const servedScore = expectedIndex >= 0 && expectedIndex < s.probabilities.length ? s.probabilities[expectedIndex]! : 0;
    const diff = Math.abs(e.score - servedScore);
    if (worstImage === undefined || diff > maxScoreDiff) {
      maxScoreDiff = diff;
      worstImage = e.image;
    }
  }
  const agreement = compared > 0 ? agreed / compared : 0;
  return {
    compared,
    agreed,
    agreement,
    maxScoreDiff,
    worstImage,
    disagreements,
    missing,
    passed: compared > 0 && missing.length === 0 && agreement >= thresholds.minAgreement && maxScoreDiff <= thresholds.maxScoreDiff,
  };
}

export function formatParity(r: ParityReport, t: ParityThresholds): string[] {
  const pct = (v: number): string => `${(v * 100).toFixed(2)} %`;
  const lines = [
    `parity: ${r.agreed}/${r.compared} top-1 agree (${pct(r.agreement)}, at least ${pct(t.minAgreement)} required); largest top-1 score difference ${r.maxScoreDiff.toFixed(6)}${r.worstImage ? ` (${r.worstImage})` : ''}, at most ${t.maxScoreDiff} allowed`,
  ];
  for (const d of r.disagreements) lines.push(`  ${d.image}: expected ${d.expected} (${d.expectedScore.toFixed(4)}), served ${d.served} (${d.servedScore.toFixed(4)})`);
  if (r.missing.length > 0) lines.push(`  ${r.missing.length} expected image(s) not among the samples, e.g. ${r.missing.slice(0, 3).join(', ')}`);
  lines.push(r.passed ? 'parity: PASSED' : 'parity: FAILED');
  return lines;
}
