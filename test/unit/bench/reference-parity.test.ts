import { describe, expect, it } from 'vitest';
import { referenceParity } from '../../../bench/reference-parity.ts';

const labels = ['0', '90', '180', '270'];
const line = (image: string, probabilities: number[]) => {
  const index = probabilities.indexOf(Math.max(...probabilities));
  return JSON.stringify({ image, top1: labels[index], index, score: probabilities[index], probabilities });
};
const authors = [line('a.png', [0.9, 0.05, 0.03, 0.02]), line('b.png', [0.1, 0.2, 0.6, 0.1])].join('\n');

describe('referenceParity: is the Python reference faithful to the authors?', () => {
  it('passes when every top-1 agrees and scores differ by float rounding only', () => {
    const reference = [line('a.png', [0.90000004, 0.05, 0.03, 0.02]), line('b.png', [0.1, 0.2, 0.59999, 0.1])].join('\n');
    const p = referenceParity(authors, reference, labels);
    expect(p).toMatchObject({ compared: 2, agreed: 2, passed: true, worst_image: 'b.png' });
    expect(p.max_top1_score_diff).toBeCloseTo(0.00001, 8);
  });

  it('fails on one top-1 that differs', () => {
    const reference = [line('a.png', [0.9, 0.05, 0.03, 0.02]), line('b.png', [0.1, 0.2, 0.3, 0.4])].join('\n');
    expect(referenceParity(authors, reference, labels)).toMatchObject({ agreed: 1, passed: false });
  });

  it('fails when a top-1 score moves by more than float rounding (a kernel or channel-order mistake)', () => {
    const reference = [line('a.png', [0.8998, 0.05, 0.03, 0.0202]), line('b.png', [0.1, 0.2, 0.6, 0.1])].join('\n');
    const p = referenceParity(authors, reference, labels);
    expect(p).toMatchObject({ agreed: 2, passed: false, worst_image: 'a.png' });
    expect(p.max_top1_score_diff).toBeCloseTo(0.0002, 8);
  });

  it('fails when the reference left an image out', () => {
    expect(referenceParity(authors, line('a.png', [0.9, 0.05, 0.03, 0.02]), labels)).toMatchObject({ compared: 1, passed: false });
  });

  it('names a malformed line of the reference\'s outputs', () => {
    expect(() => referenceParity(authors, '{"image": "a.png", "score": 0.9}', labels)).toThrow(/reference's outputs, line 1/);
  });
});
