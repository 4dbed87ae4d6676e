/**
 * Shifted copies of the Fashion-MNIST test set for judging the label-free accuracy estimate. Pure and seeded,
 * except `encode` (sharp). Each shift returns the images as the bytes a producer would publish, with their true
 * labels, so the serving code decodes them as it would live traffic.
 *
 * - covariate shifts (the images change, what they show does not): darkened, Gaussian noise, blur, heavy JPEG;
 * - label shift: the same kind of images in other class proportions (the hard upper-body classes 4x as common);
 * - concept shift: the same images, two classes' labels swapped (what the label means changed).
 */
import sharp from 'sharp';
import { prng } from '../../rollouts/simulation.ts';

export const SHIFT_NAMES = ['none', 'dark', 'noise', 'blur', 'jpeg', 'label-shift', 'concept-shift'] as const;
export type ShiftName = (typeof SHIFT_NAMES)[number];

export const SHIFT_DESCRIPTIONS: Record<ShiftName, string> = {
  none: 'the test set as it is (PNG)',
  dark: 'pixels x 0.5 (PNG)',
  noise: 'Gaussian noise, sd 40 of 255, clipped (PNG)',
  blur: 'Gaussian blur, sigma 1 pixel (PNG)',
  jpeg: 'JPEG quality 8',
  'label-shift': 'T-shirt/top, Pullover, Coat and Shirt 4x as common as the other classes (resampled, PNG)',
  'concept-shift': 'labels of Shirt and T-shirt/top swapped (PNG)',
};

/** Classes the label shift makes 4x as common: the upper-body garments the models confuse most. */
const HARD_CLASSES = new Set([0, 2, 4, 6]);
const SWAPPED: [number, number] = [0, 6];

export interface TestImages {
  count: number;
  size: number;
  /** count × size × size bytes. */
  pixels: Uint8Array;
  labels: Uint8Array;
}

export interface ShiftedItem {
  pixels: Uint8Array;
  label: number;
}

function image(set: TestImages, i: number): Uint8Array {
  const n = set.size * set.size;
  return set.pixels.subarray(i * n, (i + 1) * n);
}

const clip = (v: number): number => Math.max(0, Math.min(255, Math.round(v)));

function normal(random: () => number): number {
  return Math.sqrt(-2 * Math.log(1 - random())) * Math.cos(2 * Math.PI * random());
}

/** Separable Gaussian blur with edge clamping. */
export function gaussianBlur(pixels: Uint8Array, size: number, sigma: number): Uint8Array {
  const radius = Math.ceil(3 * sigma);
  const kernel = Array.from({ length: 2 * radius + 1 }, (_, i) => Math.exp(-((i - radius) ** 2) / (2 * sigma * sigma)));
  const total = kernel.reduce((a, b) => a + b, 0);
  const pass = (src: Float64Array, horizontal: boolean): Float64Array => {
    const out = new Float64Array(src.length);
    for (let y = 0; y < size; y++) {
      for (let x = 0; x < size; x++) {
        let sum = 0;
        for (let k = -radius; k <= radius; k++) {
          const xx = horizontal ? Math.min(size - 1, Math.max(0, x + k)) : x;
          const yy = horizontal ? y : Math.min(size - 1, Math.max(0, y + k));
          sum += kernel[k + radius]! * src[yy * size + xx]!;
        }
        out[y * size + x] = sum / total;
      }
    }
    return out;
  };
  const blurred = pass(pass(Float64Array.from(pixels), true), false);
  return Uint8Array.from(blurred, clip);
}

/** The shifted items (pixels and true label), in a fixed order for a seed; `limit` caps how many. */
export function shiftedItems(set: TestImages, shift: ShiftName, seed: number, limit = set.count): ShiftedItem[] {
  const random = prng(seed);
  const indices = Array.from({ length: set.count }, (_, i) => i);
  let chosen = indices;
  if (shift === 'label-shift') {
    // Keep every hard-class image and each other image with probability 1/4: the hard classes become 4x as common.
    chosen = indices.filter((i) => HARD_CLASSES.has(set.labels[i]!) || random() < 0.25);
  }
  return chosen.slice(0, limit).map((i) => {
    const px = image(set, i);
    const label = set.labels[i]!;
    switch (shift) {
      case 'dark':
        return { pixels: Uint8Array.from(px, (v) => clip(v * 0.5)), label };
      case 'noise':
        return { pixels: Uint8Array.from(px, (v) => clip(v + 40 * normal(random))), label };
      case 'blur':
        return { pixels: gaussianBlur(px, set.size, 1), label };
      case 'concept-shift':
        return { pixels: px, label: label === SWAPPED[0] ? SWAPPED[1] : label === SWAPPED[1] ? SWAPPED[0] : label };
      default:
        return { pixels: px, label };
    }
  });
}

/** The bytes a producer would publish: JPEG at quality 8 for the JPEG shift, PNG otherwise. */
export async function encode(item: ShiftedItem, size: number, shift: ShiftName): Promise<Buffer> {
  const raw = sharp(Buffer.from(item.pixels), { raw: { width: size, height: size, channels: 1 } });
  return shift === 'jpeg' ? raw.jpeg({ quality: 8 }).toBuffer() : raw.png().toBuffer();
}
