/**
 * Decodes untrusted image bytes and writes the model input for one image into its batch slot. The size is
 * read from the header first so an oversized image is refused before its raster is decoded; then one decoding
 * call: pngjs for small PNGs already at the model's size, sharp for everything else.
 */
import type { InputSpec } from '../../manifest.ts';
import { PipelineError } from '../../../platform/errors.ts';
import { slotOffset, type BatchTensor } from './batch-tensor.ts';
import { orientedSize, type Size } from './geometry.ts';
import { readImageHeader, type ImageHeader } from './image-header.ts';
import { imageQuality, type ImageQuality } from './image-quality.ts';
import { normaliseInto, type PixelStats } from './normalise.ts';
import { decodePngFast, takesPngFastPath } from './png-fast-path.ts';
import { decodeResized, sharpHeader } from './sharp-decode.ts';

export interface PreprocessLimits {
  /** Largest accepted width × height of the decoded image. */
  maxPixels: number;
}

/** Input statistics as in the Prediction schema's InputStats. */
export interface InputStats extends PixelStats {
  /** Decoded size before resizing. */
  width: number;
  height: number;
  channels: number;
  /** Size of the encoded image. */
  bytes: number;
  /** Quality features of the model-input pixels (image-quality.ts); null under 3×3. */
  quality: ImageQuality | null;
}

export async function preprocessInto(
  bytes: Buffer,
  spec: InputSpec,
  batch: BatchTensor,
  slot: number,
  limits: PreprocessLimits,
): Promise<InputStats> {
  const offset = slotOffset(batch, slot);
  const parsed = readImageHeader(bytes);
  const header = parsed ?? (await sharpHeader(bytes));
  const { width, height, channels } = header;
  if (width * height > limits.maxPixels) {
    throw new PipelineError(
      'preprocess',
      'TooManyPixels',
      `Image is ${width}x${height} = ${width * height} pixels, over the ${limits.maxPixels}-pixel limit; downscale it before publishing.`,
    );
  }
  const fast = parsed?.format === 'png' && takesPngFastPath(parsed, spec) ? decodePngFast(bytes, parsed, spec.channels) : undefined;
  const raw = fast ?? (await decodeResized(bytes, spec, limits.maxPixels, await sourceSize(bytes, header, spec)));
  const stats = normaliseInto(raw, spec, batch.data, offset);
  return { width, height, channels, bytes: bytes.length, ...stats, quality: imageQuality(raw, spec.width, spec.height, spec.channels) };
}

/** The pixels through sharp alone, whatever the image (no fast path): the reference the fast path is held to. */
export async function decodeWithSharp(bytes: Buffer, spec: InputSpec, maxPixels: number): Promise<Uint8Array> {
  const header = readImageHeader(bytes) ?? (await sharpHeader(bytes));
  return decodeResized(bytes, spec, maxPixels, await sourceSize(bytes, header, spec));
}

/**
 * The size the resize starts from: after EXIF orientation when it is applied. Only letterbox and crop need it
 * (they compute their geometry here); a PNG with an eXIf chunk is the one case the header cannot answer.
 */
async function sourceSize(bytes: Buffer, header: ImageHeader | (Size & { orientation: number }), spec: InputSpec): Promise<Size> {
  const size = { width: header.width, height: header.height };
  if ((spec.resize !== 'letterbox' && spec.resize !== 'shorter_side_crop') || spec.exif_orientation === false) return size;
  if ('format' in header && header.format === 'png') {
    return header.chunks.includes('eXIf') ? orientedSize(size, (await sharpHeader(bytes)).orientation) : size;
  }
  return orientedSize(size, header.orientation);
}
