import { describe, expect, it } from 'vitest';
import {
  binIndex,
  classCounts,
  histogramCounts,
  linearEdges,
  padWithZeros,
  validateEdges,
} from '../../../drift-monitor/analytics/histogram.ts';

const edges = [0, 0.25, 0.5, 0.75, 1];

describe('binIndex (edges[i] <= v < edges[i+1], outside values clamp)', () => {
  it('puts a value on an inner edge into the bin that starts there', () => {
    expect(binIndex(0, edges)).toBe(0);
    expect(binIndex(0.25, edges)).toBe(1);
    expect(binIndex(0.4999, edges)).toBe(1);
    expect(binIndex(0.5, edges)).toBe(2);
    expect(binIndex(0.75, edges)).toBe(3);
  });

  it('puts the top edge and anything above into the last bin, anything below into the first', () => {
    expect(binIndex(1, edges)).toBe(3);
    expect(binIndex(7, edges)).toBe(3);
    expect(binIndex(Infinity, edges)).toBe(3);
    expect(binIndex(-0.1, edges)).toBe(0);
    expect(binIndex(-Infinity, edges)).toBe(0);
  });

  it('works with a single bin and with many bins', () => {
    expect(binIndex(5, [0, 1])).toBe(0);
    expect(binIndex(-5, [0, 1])).toBe(0);
    const many = linearEdges(0, 1, 1000);
    for (const v of [0, 0.0005, 0.001, 0.3337, 0.999, 1]) expect(binIndex(v, many)).toBe(Math.min(999, Math.floor(v * 1000 + 1e-9)));
  });

  it('refuses NaN', () => {
    expect(() => binIndex(NaN, edges)).toThrow(/NaN/);
  });
});

describe('histograms', () => {
  it('counts values into bins', () => {
    expect(histogramCounts([0, 0.1, 0.25, 0.6, 1, 2, -1], edges).counts).toEqual([3, 1, 1, 2]);
  });

  it('validates edges', () => {
    expect(() => validateEdges([0])).toThrow(/at least 2/);
    expect(() => validateEdges([0, 0.5, 0.5, 1])).toThrow(/strictly increasing/);
    expect(() => validateEdges([0, NaN])).toThrow(/finite/);
  });

  it('makes round linear edges', () => {
    expect(linearEdges(0, 1, 10)).toEqual([0, 0.1, 0.2, 0.3, 0.4, 0.5, 0.6, 0.7, 0.8, 0.9, 1]);
    expect(linearEdges(0, 0.5, 5)).toEqual([0, 0.1, 0.2, 0.3, 0.4, 0.5]);
  });

  it('counts classes, growing past numClasses when needed', () => {
    expect(classCounts([0, 2, 2, 1, 2], 4)).toEqual([1, 1, 3, 0]);
    expect(classCounts([5])).toEqual([0, 0, 0, 0, 0, 1]);
    expect(() => classCounts([-1])).toThrow(/non-negative/);
    expect(padWithZeros([1, 2], 4)).toEqual([1, 2, 0, 0]);
  });
});
