/**
 * Where the source image lands in the model's input for the resize modes whose geometry serving computes
 * itself (letterbox, shorter side then centre crop), so it follows the published transforms to the pixel
 * rather than whatever rounding a resizing library picks. Pure.
 */
import type { InputSpec } from '../../manifest.ts';

export interface Size {
  width: number;
  height: number;
}

/** Scaled to fit inside the target, then padded; left/top get half the padding rounded down. */
export interface LetterboxGeometry {
  resized: Size;
  pad: { top: number; bottom: number; left: number; right: number };
}

/** Resized with the shorter side at a given length, then cropped at (left, top) to the target size. */
export interface CropGeometry {
  resized: Size;
  left: number;
  top: number;
}

/** Python's round(): halves go to the even neighbour (what torchvision and the letterbox reference use). */
export function roundHalfEven(x: number): number {
  const floor = Math.floor(x);
  const diff = x - floor;
  if (diff > 0.5) return floor + 1;
  if (diff < 0.5) return floor;
  return floor % 2 === 0 ? floor : floor + 1;
}

/** EXIF orientations 5 to 8 turn the image by 90°: width and height swap. */
export function orientedSize(size: Size, orientation: number | undefined): Size {
  return orientation !== undefined && orientation >= 5 && orientation <= 8 ? { width: size.height, height: size.width } : size;
}

export function letterboxGeometry(source: Size, target: Size): LetterboxGeometry {
  const ratio = Math.min(target.width / source.width, target.height / source.height);
  const width = clamp(roundHalfEven(source.width * ratio), target.width);
  const height = clamp(roundHalfEven(source.height * ratio), target.height);
  const padX = target.width - width;
  const padY = target.height - height;
  const left = Math.floor(padX / 2);
  const top = Math.floor(padY / 2);
  return { resized: { width, height }, pad: { top, bottom: padY - top, left, right: padX - left } };
}

/** torchvision's Resize(shorter) then CenterCrop(target): the longer side is truncated, the offsets rounded half to even. */
export function shorterSideCropGeometry(source: Size, target: Size, shorter: number): CropGeometry {
  const resized = source.width <= source.height
    ? { width: shorter, height: Math.floor((shorter * source.height) / source.width) }
    : { width: Math.floor((shorter * source.width) / source.height), height: shorter };
  return {
    resized,
    left: roundHalfEven((resized.width - target.width) / 2),
    top: roundHalfEven((resized.height - target.height) / 2),
  };
}

/** Whether an image of `source` size goes into the model unchanged (no resampling, padding or cropping). */
export function keepsSize(source: Size, spec: Pick<InputSpec, 'width' | 'height' | 'resize' | 'resize_shorter'>): boolean {
  if (source.width !== spec.width || source.height !== spec.height) return false;
  return spec.resize !== 'shorter_side_crop' || spec.resize_shorter === Math.min(spec.width, spec.height);
}

function clamp(n: number, max: number): number {
  return Math.min(max, Math.max(1, n));
}
