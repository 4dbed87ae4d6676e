/**
 * Every preprocessing mode against tensors computed independently with Pillow and NumPy
 * (fixtures/preprocess/generate.py; rerun it after changing a case). Geometry, channel order, dtype and
 * normalisation compare exactly; cases that resample through a kernel state their tolerance, since libvips'
 * kernels are not Pillow's.
 */
import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { allocateBatch } from '../../../models/runtime/preprocess/batch-tensor.ts';
import { fromFloat16Bits, toFloat16Bits } from '../../../models/runtime/preprocess/float16.ts';
import { preprocessInto } from '../../../models/runtime/preprocess/preprocess-image.ts';
import type { InputSpec } from '../../../models/manifest.ts';

interface ReferenceCase {
  name: string;
  image: string;
  spec: Omit<InputSpec, 'name' | 'shape'>;
  /** Largest allowed difference in tensor units (0: exact). */
  tolerance: number;
  /** Flat tensor in layout order; float16 as bits. */
  expected: number[];
}

const dir = new URL('./fixtures/preprocess/', import.meta.url);
const fixtures = JSON.parse(readFileSync(new URL('cases.json', dir), 'utf8')) as {
  cases: ReferenceCase[];
  float16: { values: (number | string)[]; bits: number[] };
};

function specOf(c: ReferenceCase): InputSpec {
  const { width, height, channels, layout } = c.spec;
  return { name: 'input', shape: layout === 'NCHW' ? [-1, channels, height, width] : [-1, height, width, channels], ...c.spec };
}

describe('preprocessing against the Pillow/NumPy reference', () => {
  it.each(fixtures.cases.map((c) => [c.name, c] as const))('%s', async (_name, c) => {
    const spec = specOf(c);
    const batch = allocateBatch(spec, 2);
    await preprocessInto(readFileSync(new URL(c.image, dir)), spec, batch, 1, { maxPixels: 1_000_000 });
    const actual = Array.from(batch.data.subarray(batch.itemSize, 2 * batch.itemSize));
    expect(actual).toHaveLength(c.expected.length);
    if (c.tolerance === 0) {
      expect(actual).toEqual(c.expected);
      return;
    }
    const value = (x: number) => (spec.dtype === 'float16' ? fromFloat16Bits(x) : x);
    const worst = Math.max(...actual.map((x, i) => Math.abs(value(x) - value(c.expected[i] as number))));
    process.stdout.write(`${JSON.stringify({ test: 'preprocess-reference', case: c.name, worst_difference: worst, tolerance: c.tolerance })}\n`);
    expect(worst).toBeLessThanOrEqual(c.tolerance + 1e-6);
  });

  it('covers every resize mode, dtype, layout and channel order', () => {
    const specs = fixtures.cases.map((c) => c.spec);
    expect(new Set(specs.map((s) => s.resize))).toEqual(new Set(['fill', 'cover', 'contain', 'letterbox', 'shorter_side_crop']));
    expect(new Set(specs.map((s) => s.dtype))).toEqual(new Set(['float32', 'float16', 'uint8']));
    expect(new Set(specs.map((s) => s.layout))).toEqual(new Set(['NCHW', 'NHWC']));
    expect(new Set(specs.map((s) => s.channel_order ?? 'RGB'))).toEqual(new Set(['RGB', 'BGR']));
  });
});

describe('float16 conversion', () => {
  it('rounds float32 values to the bits NumPy gives (nearest, ties to even; subnormals, overflow, infinities)', () => {
    const values = fixtures.float16.values.map(Number);
    expect(values.map(toFloat16Bits)).toEqual(fixtures.float16.bits);
  });

  it('reads the bits back to the value they stand for', () => {
    expect([0x3c00, 0xc100, 0x7bff, 0x0001, 0x8000, 0x7c00, 0xfc00].map(fromFloat16Bits)).toEqual([1, -2.5, 65504, 2 ** -24, -0, Infinity, -Infinity]);
    expect(fromFloat16Bits(0x7e00)).toBeNaN();
    for (const bits of fixtures.float16.bits) expect(toFloat16Bits(fromFloat16Bits(bits))).toBe(bits);
  });
});
