/** The import command's pure parts: reference histograms (against numpy's, from models/training/reference.py), parity, ONNX facts, output kind. */
import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { compareParity, parseExpected } from '../../../models/import/parity.ts';
import { readOnnxFacts } from '../../../models/import/onnx-proto.ts';
import { histogram } from '../../../models/import/reference.ts';
import { guessOutputKind, ImportUsageError, metadataLabels } from '../../../models/import/spec.ts';

describe('histogram (same edges and shares as models/training/reference.py computes with numpy)', () => {
  it('decile edges rounded to 4 decimals', () => {
    const values = [0.51316, 0.42998, 0.13115, 0.3268, 0.25138, 0.22215, 0.12363, 0.31363, 0.38797, 0.11825, 0.19661, 0.45286, 0.18968, 0.21331, 0.58344, 0.31902, 0.66595, 0.1909, 0.20491, 0.11661, 0.34215, 0.09118, 0.16335, 0.10014, 0.41497, 0.30323, 0.22813, 0.74752, 0.11923, 0.12749, 0.47701, 0.38211, 0.14078, 0.1836, 0.05623, 0.30951, 0.35801];
    const h = histogram(values);
    expect(h.edges).toEqual([0.0, 0.1176, 0.1282, 0.1795, 0.1999, 0.2281, 0.312, 0.3453, 0.4096, 0.4915, 1.0]);
    const [a, b] = [4 / 37, 3 / 37];
    h.probabilities.forEach((p, i) => expect(p).toBeCloseTo([a, a, b, a, b, a, a, b, a, a][i]!, 12));
  });

  it('confidence edges: duplicates dropped, none above 0.999999, the rest merged into the last bin', () => {
    const h = histogram([0.5, 0.9, 0.99, 0.999, 0.9999, 0.99999, 1.0, 1.0, 1.0, 0.7, 0.8], 6, 0.999999);
    expect(h.edges).toEqual([0.0, 0.7, 0.8, 0.9, 0.99, 0.999, 0.9999, 0.99999, 1.0]);
    expect(h.probabilities.at(-1)).toBeCloseTo(4 / 11, 12);
  });
});

describe('parity', () => {
  const labels = ['0', '180'];
  const served = new Map([
    ['a.png', { image: 'a.png', index: 0, label: '0', score: 0.995, probabilities: [0.995, 0.005] }],
    ['b.png', { image: 'b.png', index: 1, label: '180', score: 0.6, probabilities: [0.4, 0.6] }],
  ]);

  it('compares the expected class\'s score even when the top-1 differs, and names the worst image', () => {
    const expected = parseExpected('{"image":"a.png","top1":"0","score":0.99}\n{"image":"b.png","top1":0,"score":0.55}\n', 'e.jsonl');
    const r = compareParity(expected, served, labels, { minAgreement: 0.5, maxScoreDiff: 0.2 });
    expect(r).toMatchObject({ compared: 2, agreed: 1, agreement: 0.5, worstImage: 'b.png', passed: true });
    expect(r.maxScoreDiff).toBeCloseTo(0.15, 12);
    expect(compareParity(expected, served, labels, { minAgreement: 0.99, maxScoreDiff: 0.2 }).passed).toBe(false);
    expect(compareParity(expected, served, labels, { minAgreement: 0.5, maxScoreDiff: 0.1 }).passed).toBe(false);
  });

  it('fails when an expected image was not served', () => {
    const r = compareParity(parseExpected('{"image":"c.png","top1":"0","score":1}', 'e'), served, labels, { minAgreement: 0, maxScoreDiff: 1 });
    expect(r).toMatchObject({ compared: 0, missing: ['c.png'], passed: false });
  });

  it('refuses malformed lines with the line number', () => {
    expect(() => parseExpected('{"image":"a.png","top1":"0","score":1}\nnot json', 'e.jsonl')).toThrow(/e.jsonl:2: not JSON/);
    expect(() => parseExpected('{"image":"a.png","score":1}', 'e.jsonl')).toThrow(ImportUsageError);
    expect(() => parseExpected('\n', 'e.jsonl')).toThrow(/holds no expected outputs/);
  });
});

describe('ONNX facts and output kind', () => {
  it('reads producer and opset of a real exported model without decoding its graph', () => {
    expect(readOnnxFacts(readFileSync('models/fashion-mnist/v1/model.onnx'))).toEqual({ producer: 'pytorch', producerVersion: '2.5.1', opset: 17, metadata: {} });
    expect(() => readOnnxFacts(Buffer.from([0x0a, 0xff]))).toThrow(RangeError);
  });

  it('takes labels from metadata only when their count matches', () => {
    expect(metadataLabels({ character: '0\n90\n180\n270' }, 4)).toEqual(['0', '90', '180', '270']);
    expect(metadataLabels({ character: '0\n90' }, 4)).toBeUndefined();
  });

  it('tells probabilities from logits', () => {
    expect(guessOutputKind([[0.25, 0.75], [1, 0]])).toBe('probabilities');
    expect(guessOutputKind([[0.25, 0.75], [2.1, -1]])).toBe('logits');
    expect(guessOutputKind([[0.2, 0.2]])).toBe('logits');
  });
});
