/**
 * Pixel math between sharp's raw output and the model's input tensor. Pure, so it is tested by hand.
 * Input: interleaved 8-bit pixels (height × width × channels, as sharp's raw output).
 * Output: (x / scale - mean[c]) / std[c] written into a batch tensor at an element offset, in NCHW or NHWC.
 */
import type { InputSpec } from '../../models/manifest.ts';

export type NormaliseSpec = Pick<InputSpec, 'layout' | 'channels' | 'width' | 'height' | 'scale' | 'mean' | 'std'>;

/** Statistics of the resized pixels scaled to [0, 1] (before mean/std), as in the Prediction schema. */
export interface PixelStats {
  /** Mean over all pixels and channels. */
  brightness: number;
  /** Population standard deviation of the same values. */
  contrast: number;
}

/** Float32 elements one image occupies in the tensor. */
export function itemSize(spec: Pick<InputSpec, 'channels' | 'width' | 'height'>): number {
  return spec.channels * spec.width * spec.height;
}

/**
 * An 8-bit input has 256 possible values per channel: the normalised values come from a 256-entry table per
 * channel (the formula, rounded once to float32) and the statistics from integer sums, which are exact.
 */
export function normaliseInto(raw: Uint8Array, spec: NormaliseSpec, target: Float32Array, offset: number): PixelStats {
  const { channels, scale } = spec;
  const pixels = spec.width * spec.height;
  const size = pixels * channels;
  if (raw.length !== size) {
    throw new RangeError(`normaliseInto: expected ${size} bytes for ${spec.width}x${spec.height}x${channels}, got ${raw.length}`);
  }
  if (offset < 0 || offset + size > target.length) {
    throw new RangeError(`normaliseInto: offset ${offset} + ${size} elements does not fit a tensor of ${target.length}`);
  }
  const table = new Float32Array(256);
  let sum = 0;
  let sumOfSquares = 0;
  for (let c = 0; c < channels; c++) {
    const mean = spec.mean[c] ?? 0;
    const std = spec.std[c] ?? 1;
    for (let v = 0; v < 256; v++) table[v] = (v / scale - mean) / std;
    // NCHW: one plane per channel; NHWC: channels stay interleaved like the input.
    const planeStart = spec.layout === 'NCHW' ? offset + c * pixels : offset + c;
    const stride = spec.layout === 'NCHW' ? 1 : channels;
    for (let p = 0, src = c, dst = planeStart; p < pixels; p++, src += channels, dst += stride) {
      const v = raw[src] as number;
      sum += v;
      sumOfSquares += v * v;
      target[dst] = table[v] as number;
    }
  }
  const brightness = sum / scale / size;
  const meanSquare = sumOfSquares / (scale * scale) / size;
  return { brightness, contrast: Math.sqrt(Math.max(0, meanSquare - brightness * brightness)) };
}
