/**
 * Decodes untrusted image bytes with sharp and writes the model input for one image into its batch slot.
 * The header is read first so an oversized image is refused before its raster is decoded.
 */
import sharp, { type Metadata } from 'sharp';
import type { InputSpec } from '../../models/manifest.ts';
import { PipelineError } from '../../platform/errors.ts';
import { slotOffset, type BatchTensor } from './batch-tensor.ts';
import { normaliseInto, type PixelStats } from './normalise.ts';

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
}

export async function preprocessInto(
  bytes: Buffer,
  spec: InputSpec,
  batch: BatchTensor,
  slot: number,
  limits: PreprocessLimits,
): Promise<InputStats> {
  const offset = slotOffset(batch, slot);
  const header = await readHeader(bytes, limits.maxPixels);
  const raw = await decodeResized(bytes, spec, limits.maxPixels);
  const stats = normaliseInto(raw, spec, batch.data, offset);
  return { ...header, bytes: bytes.length, ...stats };
}

async function readHeader(bytes: Buffer, maxPixels: number): Promise<{ width: number; height: number; channels: number }> {
  let metadata: Metadata;
  try {
    metadata = await sharp(bytes).metadata();
  } catch (err) {
    throw notAnImage(err);
  }
  const { width, height, channels } = metadata;
  if (!width || !height || !channels) throw notAnImage(new Error('no image dimensions in the header'));
  if (width * height > maxPixels) {
    throw new PipelineError(
      'preprocess',
      'TooManyPixels',
      `Image is ${width}x${height} = ${width * height} pixels, over the ${maxPixels}-pixel limit; downscale it before publishing.`,
    );
  }
  return { width, height, channels };
}

async function decodeResized(bytes: Buffer, spec: InputSpec, maxPixels: number): Promise<Uint8Array> {
  // limitInputPixels guards the decoder too, in case the header understated the size.
  const image = sharp(bytes, { limitInputPixels: maxPixels }).autoOrient().removeAlpha();
  const converted = spec.channels === 1 ? image.grayscale() : image.toColourspace('srgb');
  try {
    const { data, info } = await converted
      .resize(spec.width, spec.height, { fit: spec.resize, kernel: spec.kernel, background: { r: 0, g: 0, b: 0 } })
      .raw()
      .toBuffer({ resolveWithObject: true });
    if (info.channels !== spec.channels || info.width !== spec.width || info.height !== spec.height) {
      throw new PipelineError(
        'preprocess',
        'InternalError',
        `Preprocessing produced ${info.width}x${info.height}x${info.channels}, expected ${spec.width}x${spec.height}x${spec.channels}.`,
      );
    }
    return data;
  } catch (err) {
    if (err instanceof PipelineError) throw err;
    if (err instanceof Error && /pixel limit/i.test(err.message)) {
      throw new PipelineError('preprocess', 'TooManyPixels', `Image exceeds the ${maxPixels}-pixel limit: ${err.message}`, false, { cause: err });
    }
    throw notAnImage(err);
  }
}

function notAnImage(err: unknown): PipelineError {
  const reason = err instanceof Error ? err.message : String(err);
  return new PipelineError('preprocess', 'NotAnImage', `The bytes are not a decodable image (${reason}); publish a PNG, JPEG, WebP, GIF, TIFF or AVIF.`, false, {
    cause: err,
  });
}
