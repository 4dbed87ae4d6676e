/**
 * Per-image quality features (models/runtime/preprocess/image-quality.ts) agree with the numpy arithmetic the
 * correctness model is fitted with (models/training/correctness.py `quality`): expected values printed by it for
 * the same two synthetic images.
 */
import { describe, expect, it } from 'vitest';
import { imageQuality, QUALITY_MAX_SIDE } from '../../../models/runtime/preprocess/image-quality.ts';

function pattern(): Uint8Array {
  const a = new Uint8Array(28 * 28);
  for (let y = 0; y < 28; y++) {
    for (let x = 0; x < 28; x++) {
      let v = (x * x * 7 + y * y * 3 + x * y * 11) % 256;
      if (y < 6) v = 0;
      if (y >= 20 && x < 10) v = x * 5;
      a[y * 28 + x] = v;
    }
  }
  return a;
}

function square(): Uint8Array {
  const b = new Uint8Array(28 * 28);
  for (let y = 8; y < 20; y++) for (let x = 8; x < 20; x++) b[y * 28 + x] = 200;
  return b;
}

// From: python -c "import correctness as cm; print(cm.quality(images))" (models/training).
const EXPECTED = [
  { noise: 0.17073781629115584, residual_median: 0.05490196078431371, zero_fraction: 0.22704081632653061, sharpness: 4.667323443099375, blockiness: 1.2085739528119541, dark_nonzero: 0.526595744680851, dark_step: 0.025496980799240114 },
  { noise: 0.003877678423066869, residual_median: 0, zero_fraction: 0.8163265306122449, sharpness: 2.4230148851881523, blockiness: 7.950374327303057, dark_nonzero: 0, dark_step: 0 },
];

describe('imageQuality', () => {
  it('matches the numpy features of correctness.py on the same 28×28 images', () => {
    [pattern(), square()].forEach((img, i) => {
      const q = imageQuality(img, 28, 28, 1)!;
      for (const [k, v] of Object.entries(EXPECTED[i]!)) expect(q[k as keyof typeof q], k).toBeCloseTo(v, 10);
    });
  });

  it('uses the grey mean of the channels, and the central crop of inputs over the largest side', () => {
    const grey = pattern();
    const rgb = new Uint8Array(28 * 28 * 3);
    grey.forEach((v, i) => rgb.fill(v, i * 3, i * 3 + 3));
    expect(imageQuality(rgb, 28, 28, 3)).toEqual(imageQuality(grey, 28, 28, 1));
    const side = QUALITY_MAX_SIDE + 32;
    const big = new Uint8Array(side * side);
    for (let y = 0; y < QUALITY_MAX_SIDE; y++) for (let x = 0; x < QUALITY_MAX_SIDE; x++) big[(y + 16) * side + x + 16] = (x * 13 + y * 7) % 256;
    const crop = new Uint8Array(QUALITY_MAX_SIDE * QUALITY_MAX_SIDE);
    for (let y = 0; y < QUALITY_MAX_SIDE; y++) for (let x = 0; x < QUALITY_MAX_SIDE; x++) crop[y * QUALITY_MAX_SIDE + x] = (x * 13 + y * 7) % 256;
    expect(imageQuality(big, side, side, 1)).toEqual(imageQuality(crop, QUALITY_MAX_SIDE, QUALITY_MAX_SIDE, 1));
  });

  it('is null under 3×3, and finite for a blank image', () => {
    expect(imageQuality(new Uint8Array(4), 2, 2, 1)).toBeNull();
    const q = imageQuality(new Uint8Array(28 * 28), 28, 28, 1)!;
    expect(Object.values(q).every(Number.isFinite)).toBe(true);
    expect(q.zero_fraction).toBe(1);
  });

  it('takes a few µs for a 28×28 image', () => {
    const img = pattern();
    for (let i = 0; i < 2000; i++) imageQuality(img, 28, 28, 1);
    const start = process.hrtime.bigint();
    for (let i = 0; i < 5000; i++) imageQuality(img, 28, 28, 1);
    const us = Number(process.hrtime.bigint() - start) / 1000 / 5000;
    expect(us).toBeLessThan(100);
  });
});
