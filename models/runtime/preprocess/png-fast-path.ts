/**
 * Small PNGs already at the model's size (a 28×28 Fashion-MNIST image) skip sharp: for them sharp's fixed cost
 * per call (about 1 ms of CPU) is ten times the decoding itself. pngjs inflates with Node's zlib, bounded by the
 * size the header declares. The path only takes images whose result is byte-identical to sharp's pipeline
 * (no resize, no colour management, no orientation, 8-bit); anything else returns undefined and goes to sharp.
 */
import pngjs from 'pngjs';
import type { InputSpec } from '../../manifest.ts';
import { keepsSize } from './geometry.ts';
import type { PngHeader } from './image-header.ts';

/** Chunks that make libvips change the pixels (colour profile, gamma, orientation): sharp handles those. */
const SHARP_ONLY_CHUNKS = new Set(['iCCP', 'gAMA', 'cHRM', 'eXIf']);
/** Gray, RGB, gray + alpha, RGBA; palette images go to sharp. */
const DIRECT_COLOR_TYPES = new Set([0, 2, 4, 6]);

export function takesPngFastPath(header: PngHeader, spec: Pick<InputSpec, 'width' | 'height' | 'resize' | 'resize_shorter' | 'background'>): boolean {
  return (
    keepsSize(header, spec) &&
    // Flattening alpha onto a background is libvips' arithmetic; without a background alpha is dropped, as here.
    (spec.background === undefined || !hasAlpha(header)) &&
    header.bitDepth === 8 &&
    !header.interlaced && // pngjs inflates interlaced images without a size bound
    DIRECT_COLOR_TYPES.has(header.colorType) &&
    !header.chunks.some((c) => SHARP_ONLY_CHUNKS.has(c))
  );
}

function hasAlpha(header: PngHeader): boolean {
  return header.colorType === 4 || header.colorType === 6 || header.chunks.includes('tRNS');
}

/**
 * Interleaved 8-bit pixels with the model's channel count, or undefined where only sharp gives the right answer
 * (a colour image for a grayscale model: libvips takes luminance in linear light; gray pixels, R = G = B, are
 * the same in any formula) or where pngjs cannot decode the bytes (sharp then reports why).
 */
export function decodePngFast(bytes: Buffer, header: PngHeader, channels: 1 | 3): Uint8Array | undefined {
  let rgba: Buffer;
  try {
    rgba = pngjs.PNG.sync.read(bytes).data;
  } catch {
    return undefined;
  }
  const pixels = header.width * header.height;
  if (rgba.length !== pixels * 4) return undefined;
  const out = new Uint8Array(pixels * channels);
  const gray = header.colorType === 0 || header.colorType === 4;
  if (channels === 3) {
    for (let p = 0, src = 0, dst = 0; p < pixels; p++, src += 4, dst += 3) {
      out[dst] = rgba[src] as number;
      out[dst + 1] = rgba[src + 1] as number;
      out[dst + 2] = rgba[src + 2] as number;
    }
    return out;
  }
  for (let p = 0, src = 0; p < pixels; p++, src += 4) {
    const r = rgba[src] as number;
    if (!gray && (rgba[src + 1] !== r || rgba[src + 2] !== r)) return undefined;
    out[p] = r;
  }
  return out;
}
