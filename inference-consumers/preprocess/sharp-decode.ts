/**
 * The general decoding path: one sharp call per image (decode, orientation, channels, resize to the model's
 * input), with libvips' own pixel limit guarding the decoder in case a header understated the size.
 */
import sharp, { type Metadata } from 'sharp';
import type { InputSpec } from '../../models/manifest.ts';
import { PipelineError } from '../../platform/errors.ts';

// libvips caches recent operations for reuse; every image here is new, so the cache only costs CPU and memory
// (about a third of the CPU of decoding a 28×28 PNG).
sharp.cache(false);

export async function decodeResized(bytes: Buffer, spec: InputSpec, maxPixels: number): Promise<Uint8Array> {
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

/** The header through sharp, for formats image-header.ts does not read (WebP, GIF, TIFF, AVIF). */
export async function sharpHeader(bytes: Buffer): Promise<{ width: number; height: number; channels: number }> {
  let metadata: Metadata;
  try {
    metadata = await sharp(bytes).metadata();
  } catch (err) {
    throw notAnImage(err);
  }
  const { width, height, channels } = metadata;
  if (!width || !height || !channels) throw notAnImage(new Error('no image dimensions in the header'));
  return { width, height, channels };
}

export function notAnImage(err: unknown): PipelineError {
  const reason = err instanceof Error ? err.message : String(err);
  return new PipelineError('preprocess', 'NotAnImage', `The bytes are not a decodable image (${reason}); publish a PNG, JPEG, WebP, GIF, TIFF or AVIF.`, false, {
    cause: err,
  });
}
