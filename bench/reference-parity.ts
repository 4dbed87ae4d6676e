/**
 * Is the Python reference consumer faithful to a model's authors? Its outputs on the sample images (score.py)
 * against the authors' own preprocessing and inference (models/third-party/reference.py), through the import
 * command's parity comparison. Pure.
 */
import { compareParity, parseExpected } from '../models/import/parity.ts';

/**
 * Both sides run the same ONNX file on what should be the same tensors, with onnxruntime builds a minor version
 * apart: every top-1 must agree and scores may differ by float rounding only.
 */
export const REFERENCE_PARITY = { minAgreement: 1, maxScoreDiff: 1e-4 };

export interface ReferenceParity {
  compared: number;
  agreed: number;
  max_top1_score_diff: number;
  /** Where the score difference is largest. */
  worst_image: string | undefined;
  passed: boolean;
}

/** Both texts are JSONL, one {"image", "top1", "index", "score", "probabilities"} per image. */
export function referenceParity(authorsJsonl: string, referenceJsonl: string, labels: readonly string[]): ReferenceParity {
  const served = new Map(parseLines(referenceJsonl).map((l) => [l.image, { image: l.image, index: l.index, label: labels[l.index] ?? String(l.index), score: l.score, probabilities: l.probabilities }]));
  const report = compareParity(parseExpected(authorsJsonl, 'the authors\' outputs'), served, labels, REFERENCE_PARITY);
  return { compared: report.compared, agreed: report.agreed, max_top1_score_diff: report.maxScoreDiff, worst_image: report.worstImage, passed: report.passed };
}

interface ScoredLine { image: string; index: number; score: number; probabilities: number[] }

function parseLines(text: string): ScoredLine[] {
  return text.split('\n').filter((l) => l.trim() !== '').map((line, i) => {
    const v = JSON.parse(line) as Partial<ScoredLine>;
    if (typeof v.image !== 'string' || !Number.isInteger(v.index) || typeof v.score !== 'number' || !Array.isArray(v.probabilities)) {
      throw new Error(`the reference's outputs, line ${i + 1}: expected {"image", "index", "score", "probabilities"}, got ${line.slice(0, 120)}`);
    }
    return v as ScoredLine;
  });
}
