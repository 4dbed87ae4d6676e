/**
 * Pixel math between sharp's raw output and the model's input tensor. Pure, so it is tested by hand.
 * Input: interleaved 8-bit pixels (height × width × channels, as sharp's raw output, colour in RGB order).
 * Output: per tensor channel c, (x / scale - mean[c]) / std[c] (float32 or float16) or x itself (uint8), read
 * from the source channel the channel order names, written into a batch tensor at an element offset, in NCHW
 * or NHWC.
 */
import type { InputSpec } from '../../manifest.ts';
import { toFloat16Bits } from './float16.ts';

export type NormaliseSpec = Pick<InputSpec, 'layout' | 'channels' | 'width' | 'height' | 'scale' | 'mean' | 'std' | 'dtype' | 'channel_order'>;

/** The typed array behind each input dtype (float16 as raw bits). */
export type TensorData = Float32Array | Uint16Array | Uint8Array;

/** Statistics of the resized pixels scaled to [0, 1] (before any normalisation), as in the Prediction schema. */
export interface PixelStats {
  /** Mean over all pixels and channels. */
  brightness: number;
  /** Population standard deviation of the same values. */
  contrast: number;
}

/** Elements one image occupies in the tensor. */
export function itemSize(spec: Pick<InputSpec, 'channels' | 'width' | 'height'>): number {
  return spec.channels * spec.width * spec.height;
}

export function allocateTensorData(dtype: InputSpec['dtype'], length: number): TensorData {
  if (dtype === 'float16') return new Uint16Array(length);
  if (dtype === 'uint8') return new Uint8Array(length);
  return new Float32Array(length);
}

const IDENTITY = Uint8Array.from({ length: 256 }, (_, v) => v);

/**
 * The 256 tensor values of one tensor channel: the formula evaluated in double precision and rounded once to
 * float32 (then to float16 from that float32), or the byte itself for uint8.
 */
export function channelTable(spec: Pick<NormaliseSpec, 'scale' | 'mean' | 'std' | 'dtype'>, channel: number): TensorData {
  if (spec.dtype === 'uint8') return IDENTITY;
  const scale = spec.scale ?? 1;
  const mean = spec.mean?.[channel] ?? 0;
  const std = spec.std?.[channel] ?? 1;
  const table = new Float32Array(256);
  for (let v = 0; v < 256; v++) table[v] = (v / scale - mean) / std;
  return spec.dtype === 'float16' ? Uint16Array.from(table, toFloat16Bits) : table;
}

/**
 * An 8-bit input has 256 possible values per channel: the tensor values come from a 256-entry table per
 * channel and the statistics from integer sums, which are exact.
 */
export function normaliseInto(raw: Uint8Array, spec: NormaliseSpec, target: TensorData, offset: number): PixelStats {
  const { channels } = spec;
  const pixels = spec.width * spec.height;
  const size = pixels * channels;
  if (raw.length !== size) {
    throw new RangeError(`normaliseInto: expected ${size} bytes for ${spec.width}x${spec.height}x${channels}, got ${raw.length}`);
  }
  if (offset < 0 || offset + size > target.length) {
    throw new RangeError(`normaliseInto: offset ${offset} + ${size} elements does not fit a tensor of ${target.length}`);
  }
  const bgr = channels === 3 && spec.channel_order === 'BGR';
  let sum = 0;
  let sumOfSquares = 0;
  for (let c = 0; c < channels; c++) {
    const table = channelTable(spec, c);
    // NCHW: one plane per channel; NHWC: channels stay interleaved like the input.
    const planeStart = spec.layout === 'NCHW' ? offset + c * pixels : offset + c;
    const stride = spec.layout === 'NCHW' ? 1 : channels;
    for (let p = 0, src = bgr ? 2 - c : c, dst = planeStart; p < pixels; p++, src += channels, dst += stride) {
      const v = raw[src] as number;
      sum += v;
      sumOfSquares += v * v;
      target[dst] = table[v] as number;
    }
  }
  const brightness = sum / 255 / size;
  const meanSquare = sumOfSquares / (255 * 255) / size;
  return { brightness, contrast: Math.sqrt(Math.max(0, meanSquare - brightness * brightness)) };
}
