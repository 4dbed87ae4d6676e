import { describe, expect, it } from 'vitest';
import { allocateBatch, slotOffset } from '../../../models/runtime/preprocess/batch-tensor.ts';
import { normaliseInto, type NormaliseSpec } from '../../../models/runtime/preprocess/normalise.ts';

// A 2x1 RGB image: pixel 0 = (0, 51, 255), pixel 1 = (255, 102, 0); scale 255.
const rgb = Uint8Array.from([0, 51, 255, 255, 102, 0]);
const spec = (layout: 'NCHW' | 'NHWC'): NormaliseSpec => ({
  layout,
  channels: 3,
  width: 2,
  height: 1,
  scale: 255,
  mean: [0.5, 0.2, 0],
  std: [0.5, 0.1, 2],
  dtype: 'float32',
});

describe('normaliseInto', () => {
  it('writes channel planes for NCHW: (x/scale - mean[c]) / std[c]', () => {
    const target = new Float32Array(6);
    normaliseInto(rgb, spec('NCHW'), target, 0);
    // R: (0-0.5)/0.5, (1-0.5)/0.5; G: (0.2-0.2)/0.1, (0.4-0.2)/0.1; B: (1-0)/2, (0-0)/2
    expect(Array.from(target)).toEqual([-1, 1, 0, 2, 0.5, 0].map(Math.fround));
  });

  it('keeps channels interleaved for NHWC', () => {
    const target = new Float32Array(6);
    normaliseInto(rgb, spec('NHWC'), target, 0);
    expect(Array.from(target)).toEqual([-1, 0, 0.5, 1, 2, 0].map(Math.fround));
  });

  it('reports brightness and contrast of the scaled pixels over all channels (population std)', () => {
    const stats = normaliseInto(rgb, spec('NCHW'), new Float32Array(6), 0);
    const values = [0, 0.2, 1, 1, 0.4, 0];
    const mean = values.reduce((a, b) => a + b) / 6;
    const std = Math.sqrt(values.reduce((a, v) => a + (v - mean) ** 2, 0) / 6);
    expect(stats.brightness).toBeCloseTo(mean, 12);
    expect(stats.contrast).toBeCloseTo(std, 12);
  });

  it('writes into its slot of a batch and leaves the other slots alone', () => {
    const gray = { layout: 'NCHW', channels: 1, width: 2, height: 2, scale: 255, mean: [0], std: [1], dtype: 'float32', shape: [-1, 1, 2, 2] } as const satisfies NormaliseSpec & { shape: number[] };
    const batch = allocateBatch(gray, 3);
    batch.data.fill(7);
    normaliseInto(Uint8Array.from([0, 255, 255, 0]), gray, batch.data, slotOffset(batch, 1));
    expect(Array.from(batch.data)).toEqual([7, 7, 7, 7, 0, 1, 1, 0, 7, 7, 7, 7]);
    expect(batch.itemDims).toEqual([1, 2, 2]);
  });

  it('gives zero contrast for a flat image', () => {
    const gray: NormaliseSpec = { layout: 'NHWC', channels: 1, width: 2, height: 2, scale: 255, mean: [0], std: [1], dtype: 'float32' };
    const stats = normaliseInto(Uint8Array.from([51, 51, 51, 51]), gray, new Float32Array(4), 0);
    expect(stats).toEqual({ brightness: expect.closeTo(0.2, 12), contrast: 0 });
  });

  it('refuses raw data of the wrong size and slots outside the batch', () => {
    expect(() => normaliseInto(new Uint8Array(5), spec('NCHW'), new Float32Array(6), 0)).toThrow(/expected 6 bytes/);
    expect(() => normaliseInto(rgb, spec('NCHW'), new Float32Array(6), 1)).toThrow(/does not fit/);
    expect(() => slotOffset(allocateBatch({ ...spec('NCHW'), shape: [-1, 3, 1, 2] }, 2), 2)).toThrow(/outside a batch of 2/);
  });
});
