import sharp from 'sharp';
import { describe, expect, it } from 'vitest';
import type { InputSpec } from '../../../models/manifest.ts';
import { allocateBatch } from '../../../models/runtime/preprocess/batch-tensor.ts';
import { preprocessInto } from '../../../models/runtime/preprocess/preprocess-image.ts';
import { validManifest } from './fixtures.ts';

const gray28 = validManifest().input;
const rgbSpec = (overrides: Partial<InputSpec> = {}): InputSpec => ({
  ...gray28,
  shape: [-1, 4, 4, 3],
  layout: 'NHWC',
  channels: 3,
  width: 4,
  height: 4,
  mean: [0, 0, 0],
  std: [1, 1, 1],
  ...overrides,
});
const limits = { maxPixels: 1_000_000 };

function solid(width: number, height: number, colour: { r: number; g: number; b: number; alpha?: number }, channels: 3 | 4 = 3) {
  return sharp({ create: { width, height, channels, background: colour } }).png().toBuffer();
}

describe('preprocessInto', () => {
  it('converts an RGB image of another size to 28x28 grayscale, normalised into its slot', async () => {
    const png = await solid(56, 42, { r: 200, g: 100, b: 50 });
    const batch = allocateBatch(gray28, 2);
    const stats = await preprocessInto(png, gray28, batch, 1, limits);
    expect(stats).toMatchObject({ width: 56, height: 42, channels: 3, bytes: png.length });
    // libvips takes luminance in linear light: (200, 100, 50) gives 128.
    const gray = Math.round(stats.brightness * 255);
    expect(gray).toBeGreaterThanOrEqual(126);
    expect(gray).toBeLessThanOrEqual(130);
    expect(stats.contrast).toBeCloseTo(0, 6);
    const slot = batch.data.subarray(784, 1568);
    expect(new Set(slot).size).toBe(1);
    expect(slot[0]).toBeCloseTo((gray / 255 - 0.5) / 0.5, 5);
    expect(batch.data.subarray(0, 784).every((v) => v === 0)).toBe(true);
  });

  it('replicates a grayscale image into three channels for an RGB model (NHWC)', async () => {
    const raw = Buffer.from([0, 255, 0, 255, 255, 0, 255, 0, 0, 255, 0, 255, 255, 0, 255, 0]);
    const png = await sharp(raw, { raw: { width: 4, height: 4, channels: 1 } }).png().toBuffer();
    const spec = rgbSpec({ kernel: 'nearest' });
    const batch = allocateBatch(spec, 1);
    const stats = await preprocessInto(png, spec, batch, 0, limits);
    expect(Array.from(batch.data.subarray(0, 6))).toEqual([0, 0, 0, 1, 1, 1]);
    expect(stats.brightness).toBeCloseTo(0.5, 6);
    expect(stats.contrast).toBeCloseTo(0.5, 6);
  });

  it('drops alpha and pads with black for fit contain', async () => {
    const png = await solid(8, 4, { r: 255, g: 255, b: 255, alpha: 0.5 }, 4);
    const spec = rgbSpec({ resize: 'contain', kernel: 'nearest' });
    const batch = allocateBatch(spec, 1);
    await preprocessInto(png, spec, batch, 0, limits);
    // 8x4 into 4x4 keeps the aspect: rows 1-2 white, rows 0 and 3 black padding.
    const row = (y: number) => Array.from(batch.data.subarray(y * 12, y * 12 + 12));
    expect(row(0).every((v) => v === 0)).toBe(true);
    expect(row(1).every((v) => v === 1)).toBe(true);
    expect(row(3).every((v) => v === 0)).toBe(true);
  });

  it('refuses too many pixels from the header, before decoding', async () => {
    const large = await solid(3000, 2000, { r: 0, g: 0, b: 0 });
    await expect(preprocessInto(large, gray28, allocateBatch(gray28, 1), 0, limits)).rejects.toMatchObject({
      stage: 'preprocess',
      errorClass: 'TooManyPixels',
      message: expect.stringMatching(/3000x2000 = 6000000 pixels, over the 1000000-pixel limit/),
    });
  });

  it('refuses bytes that are not an image', async () => {
    await expect(preprocessInto(Buffer.from('this is plain text, not a picture'), gray28, allocateBatch(gray28, 1), 0, limits)).rejects.toMatchObject({
      stage: 'preprocess',
      errorClass: 'NotAnImage',
    });
  });

  it('refuses a truncated image', async () => {
    const png = await solid(64, 64, { r: 10, g: 20, b: 30 });
    await expect(preprocessInto(png.subarray(0, png.length - 40), gray28, allocateBatch(gray28, 1), 0, limits)).rejects.toMatchObject({
      errorClass: 'NotAnImage',
    });
  });
});
