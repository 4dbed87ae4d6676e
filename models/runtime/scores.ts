/** Turning a model's output row into scores (softmax or sigmoid) and the top-k labels. Pure. */

export interface ScoredLabel {
  index: number;
  label: string;
  score: number;
}

/** Numerically stable softmax (max subtracted before exponentiating). */
export function softmax(logits: ArrayLike<number>): Float32Array {
  let max = -Infinity;
  for (let i = 0; i < logits.length; i++) max = Math.max(max, logits[i] as number);
  const out = new Float32Array(logits.length);
  let sum = 0;
  const exps = new Float64Array(logits.length);
  for (let i = 0; i < logits.length; i++) {
    exps[i] = Math.exp((logits[i] as number) - max);
    sum += exps[i] as number;
  }
  for (let i = 0; i < logits.length; i++) out[i] = (exps[i] as number) / sum;
  return out;
}

/** Independent per-class probabilities of a multi-label model: 1 / (1 + e^-x), stable for large |x|. */
export function sigmoid(logits: ArrayLike<number>): Float32Array {
  const out = new Float32Array(logits.length);
  for (let i = 0; i < logits.length; i++) {
    const x = logits[i] as number;
    out[i] = x >= 0 ? 1 / (1 + Math.exp(-x)) : Math.exp(x) / (1 + Math.exp(x));
  }
  return out;
}

/** The k highest scores, best first; equal scores keep the lower index first. */
export function topK(scores: ArrayLike<number>, k: number, labels: readonly string[]): ScoredLabel[] {
  const indices = Array.from({ length: scores.length }, (_, i) => i);
  indices.sort((a, b) => (scores[b] as number) - (scores[a] as number) || a - b);
  return indices.slice(0, Math.max(0, k)).map((index) => ({ index, label: labels[index] ?? String(index), score: scores[index] as number }));
}
