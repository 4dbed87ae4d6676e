import sharp from 'sharp';
import { describe, expect, it } from 'vitest';
import { readPngHeader, type PngHeader } from '../../../models/runtime/preprocess/image-header.ts';
import { decodePngFast, takesPngFastPath } from '../../../models/runtime/preprocess/png-fast-path.ts';
import { decodeWithSharp } from '../../../models/runtime/preprocess/preprocess-image.ts';
import type { InputSpec } from '../../../models/manifest.ts';
import { validManifest } from './fixtures.ts';

const gray28 = validManifest().input;
const rgb28: InputSpec = { ...gray28, shape: [-1, 3, 28, 28], channels: 3, mean: [0, 0, 0], std: [1, 1, 1] };

/** Deterministic noise, so every pixel value and neighbour pattern occurs. */
function noise(length: number, seed: number): Buffer {
  const out = Buffer.alloc(length);
  let x = seed;
  for (let i = 0; i < length; i++) {
    x = (x * 1103515245 + 12345) >>> 0;
    out[i] = x >>> 24;
  }
  return out;
}

const raw = (channels: 1 | 2 | 3 | 4, pixels: Buffer, options: { width?: number; height?: number } = {}) =>
  sharp(pixels, { raw: { width: options.width ?? 28, height: options.height ?? 28, channels } });
/** R = G = B: how sharp writes a grayscale Fashion-MNIST image (the benchmark's and the parity test's files). */
const grayAsRgb = (seed: number) => {
  const g = noise(784, seed);
  return raw(3, Buffer.from(Array.from(g).flatMap((v) => [v, v, v]))).png().toBuffer();
};

async function both(png: Buffer, spec: InputSpec): Promise<{ header: PngHeader; fast: Uint8Array | undefined; viaSharp: Uint8Array }> {
  const header = readPngHeader(png);
  if (!header) throw new Error('not a PNG');
  expect(takesPngFastPath(header, spec)).toBe(true);
  return { header, fast: decodePngFast(png, header, spec.channels), viaSharp: await decodeWithSharp(png, spec, 1_000_000) };
}

describe('PNG fast path gives the bytes sharp gives', () => {
  const cases: [string, () => Promise<Buffer>, InputSpec][] = [
    ['gray PNG, gray model', () => raw(1, noise(784, 1)).toColourspace('b-w').png().toBuffer(), gray28],
    ['RGB PNG with R = G = B, gray model', () => grayAsRgb(2), gray28],
    ['gray + alpha PNG, gray model (alpha dropped)', () => raw(2, noise(784 * 2, 3)).toColourspace('b-w').png().toBuffer(), gray28],
    ['RGB PNG, RGB model', () => raw(3, noise(784 * 3, 4)).png().toBuffer(), rgb28],
    ['RGBA PNG, RGB model (alpha dropped, not blended)', () => raw(4, noise(784 * 4, 5)).png().toBuffer(), rgb28],
    ['gray PNG, RGB model (replicated)', () => raw(1, noise(784, 6)).toColourspace('b-w').png().toBuffer(), rgb28],
  ];
  it.each(cases)('%s', async (_, make, spec) => {
    const { fast, viaSharp } = await both(await make(), spec);
    expect(fast).toBeDefined();
    expect(Buffer.from(fast as Uint8Array).equals(Buffer.from(viaSharp))).toBe(true);
  });
});

describe('PNG fast path leaves to sharp what only sharp gets right', () => {
  it('a colour image for a gray model (luminance in linear light)', async () => {
    const { header, fast } = await both(await raw(3, noise(784 * 3, 7)).png().toBuffer(), gray28);
    expect(header.colorType).toBe(2);
    expect(fast).toBeUndefined();
  });

  it('another size, 16 bits, interlacing, a palette, a colour profile, orientation', async () => {
    const at = (png: Buffer) => takesPngFastPath(readPngHeader(png) as PngHeader, gray28);
    expect(at(await raw(1, noise(30 * 28, 8), { width: 30 }).png().toBuffer())).toBe(false);
    expect(at(await raw(3, noise(784 * 3, 9)).toColourspace('rgb16').png().toBuffer())).toBe(false);
    expect(at(await raw(1, noise(784, 10)).png({ progressive: true }).toBuffer())).toBe(false);
    expect(at(await raw(3, noise(784 * 3, 11)).png({ palette: true }).toBuffer())).toBe(false);
    expect(at(await raw(3, noise(784 * 3, 12)).withIccProfile('p3').png().toBuffer())).toBe(false);
    expect(at(await raw(3, noise(784 * 3, 13)).withExif({ IFD0: { Orientation: '6' } }).png().toBuffer())).toBe(false);
  });

  it('bytes pngjs cannot decode (corrupt data), so that sharp reports the error', async () => {
    const png = Buffer.from(await grayAsRgb(14));
    const header = readPngHeader(png) as PngHeader;
    png.fill(0, png.length - 30, png.length - 12);
    expect(decodePngFast(png, header, 1)).toBeUndefined();
  });
});
