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

/**
 * `dark`, `noise`, `blur` and `jpeg` are the headline severities; the suffixed ones sweep each covariate shift from
 * mild to heavy (SEVERITIES), so the estimators can be judged by how far each holds.
 */
export const SHIFT_NAMES = [
  'none', 'dark', 'noise', 'blur', 'jpeg', 'label-shift', 'concept-shift',
  'dark-0.7', 'dark-0.3', 'noise-10', 'noise-20', 'blur-0.5', 'blur-1.5', 'jpeg-30', 'jpeg-15',
] as const;
export type ShiftName = (typeof SHIFT_NAMES)[number];

type Spec =
  | { kind: 'none' | 'label-shift' | 'concept-shift' }
  | { kind: 'dark'; factor: number }
  | { kind: 'noise'; sd: number }
  | { kind: 'blur'; sigma: number }
  | { kind: 'jpeg'; quality: number };

const SPECS: Record<ShiftName, Spec> = {
  none: { kind: 'none' },
  dark: { kind: 'dark', factor: 0.5 },
  noise: { kind: 'noise', sd: 40 },
  blur: { kind: 'blur', sigma: 1 },
  jpeg: { kind: 'jpeg', quality: 8 },
  'label-shift': { kind: 'label-shift' },
  'concept-shift': { kind: 'concept-shift' },
  'dark-0.7': { kind: 'dark', factor: 0.7 },
  'dark-0.3': { kind: 'dark', factor: 0.3 },
  'noise-10': { kind: 'noise', sd: 10 },
  'noise-20': { kind: 'noise', sd: 20 },
  'blur-0.5': { kind: 'blur', sigma: 0.5 },
  'blur-1.5': { kind: 'blur', sigma: 1.5 },
  'jpeg-30': { kind: 'jpeg', quality: 30 },
  'jpeg-15': { kind: 'jpeg', quality: 15 },
};

/** Each covariate shift from mild to heavy. */
export const SEVERITIES: Record<'dark' | 'noise' | 'blur' | 'jpeg', readonly [ShiftName, ShiftName, ShiftName]> = {
  dark: ['dark-0.7', 'dark', 'dark-0.3'],
  noise: ['noise-10', 'noise-20', 'noise'],
  blur: ['blur-0.5', 'blur', 'blur-1.5'],
  jpeg: ['jpeg-30', 'jpeg-15', 'jpeg'],
};

function describe(spec: Spec): string {
  switch (spec.kind) {
    case 'none':
      return 'the test set as it is (PNG)';
    case 'dark':
      return `pixels x ${spec.factor} (PNG)`;
    case 'noise':
      return `Gaussian noise, sd ${spec.sd} of 255, clipped (PNG)`;
    case 'blur':
      return `Gaussian blur, sigma ${spec.sigma} pixel (PNG)`;
    case 'jpeg':
      return `JPEG quality ${spec.quality}`;
    case 'label-shift':
      return 'T-shirt/top, Pullover, Coat and Shirt 4x as common as the other classes (resampled, PNG)';
    case 'concept-shift':
      return 'labels of Shirt and T-shirt/top swapped (PNG)';
  }
}

export const SHIFT_DESCRIPTIONS = Object.fromEntries(SHIFT_NAMES.map((n) => [n, describe(SPECS[n])])) as Record<ShiftName, string>;

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
  const spec = SPECS[shift];
  if (spec.kind === 'label-shift') {
    // Keep every hard-class image and each other image with probability 1/4: the hard classes become 4x as common.
    chosen = indices.filter((i) => HARD_CLASSES.has(set.labels[i]!) || random() < 0.25);
  }
  return chosen.slice(0, limit).map((i) => {
    const px = image(set, i);
    const label = set.labels[i]!;
    switch (spec.kind) {
      case 'dark':
        return { pixels: Uint8Array.from(px, (v) => clip(v * spec.factor)), label };
      case 'noise':
        return { pixels: Uint8Array.from(px, (v) => clip(v + spec.sd * normal(random))), label };
      case 'blur':
        return { pixels: gaussianBlur(px, set.size, spec.sigma), label };
      case 'concept-shift':
        return { pixels: px, label: label === SWAPPED[0] ? SWAPPED[1] : label === SWAPPED[1] ? SWAPPED[0] : label };
      default:
        return { pixels: px, label };
    }
  });
}

/** The bytes a producer would publish: JPEG at the shift's quality for the JPEG shifts, PNG otherwise. */
export async function encode(item: ShiftedItem, size: number, shift: ShiftName): Promise<Buffer> {
  const raw = sharp(Buffer.from(item.pixels), { raw: { width: size, height: size, channels: 1 } });
  const spec = SPECS[shift];
  return spec.kind === 'jpeg' ? raw.jpeg({ quality: spec.quality }).toBuffer() : raw.png().toBuffer();
}
