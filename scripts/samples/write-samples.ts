import { mkdir, readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import sharp from 'sharp';
import { FASHION_MNIST_LABELS, readFashionMnist } from './fashion-mnist.ts';

/**
 * Real image files from Fashion-MNIST's test set, for the demo, the tests and the benchmarks.
 * - lossless: 28×28 grayscale PNG only (the parity check against the manifests' accuracy);
 * - mixed: also JPEG, and RGB PNGs at other sizes, so decoding, resizing and channel conversion are exercised;
 * - dark / invert: a shifted set for drift detection.
 */
export type SampleKind = 'lossless' | 'mixed' | 'dark' | 'invert';

export interface Sample {
  file: string;
  labelIndex: number;
  label: string;
  testIndex: number;
  format: string;
}

export interface SampleSet {
  dir: string;
  samples: Sample[];
}

const CSV_HEADER = 'file,label_index,label_name,test_index,format';

/** Pure: which encoding the i-th image of a set gets. */
export function formatFor(kind: SampleKind, i: number): 'png' | 'jpeg' | 'rgb56' | 'rgb20x30' {
  if (kind !== 'mixed') return 'png';
  const slot = i % 10;
  if (slot === 7) return 'jpeg';
  if (slot === 8) return 'rgb56';
  if (slot === 9) return 'rgb20x30';
  return 'png';
}

function pixelsFor(kind: SampleKind, raw: Buffer): Buffer {
  if (kind === 'dark') return Buffer.from(raw.map((v) => Math.round(v * 0.4)));
  if (kind === 'invert') return Buffer.from(raw.map((v) => 255 - v));
  return raw;
}

async function encode(format: ReturnType<typeof formatFor>, pixels: Buffer): Promise<Buffer> {
  const image = sharp(pixels, { raw: { width: 28, height: 28, channels: 1 } });
  if (format === 'jpeg') return image.jpeg({ quality: 95 }).toBuffer();
  if (format === 'rgb56') return image.resize(56, 56, { kernel: 'lanczos3' }).toColourspace('srgb').png().toBuffer();
  if (format === 'rgb20x30') return image.resize(20, 30, { fit: 'fill', kernel: 'lanczos3' }).toColourspace('srgb').png().toBuffer();
  return image.png().toBuffer();
}

/** Writes (or reuses, when labels.csv already lists `count` images) a sample set under `dir`. */
export async function writeSamples(dir: string, kind: SampleKind, count: number, offset = 0): Promise<SampleSet> {
  const existing = await readSamples(dir).catch(() => null);
  if (existing && existing.samples.length === count) return existing;
  const { images, labels } = await readFashionMnist('t10k');
  if (offset + count > images.count) throw new Error(`the test set has ${images.count} images; asked for ${count} from ${offset}`);
  await mkdir(dir, { recursive: true });
  const size = images.rows * images.cols;
  const samples: Sample[] = [];
  for (let i = 0; i < count; i++) {
    const testIndex = offset + i;
    const format = formatFor(kind, i);
    const file = `${String(testIndex).padStart(5, '0')}-${format}.${format === 'jpeg' ? 'jpg' : 'png'}`;
    const raw = images.pixels.subarray(testIndex * size, (testIndex + 1) * size);
    await writeFile(join(dir, file), await encode(format, pixelsFor(kind, Buffer.from(raw))));
    const labelIndex = labels[testIndex] as number;
    samples.push({ file, labelIndex, label: FASHION_MNIST_LABELS[labelIndex] as string, testIndex, format });
  }
  const csv = samples.map((s) => `${s.file},${s.labelIndex},"${s.label}",${s.testIndex},${s.format}`);
  await writeFile(join(dir, 'labels.csv'), `${CSV_HEADER}\n${csv.join('\n')}\n`);
  return { dir, samples };
}

export async function readSamples(dir: string): Promise<SampleSet> {
  const lines = (await readFile(join(dir, 'labels.csv'), 'utf8')).trim().split('\n').slice(1);
  const samples = lines.map((line) => {
    const m = /^([^,]+),(\d+),"([^"]*)",(\d+),(\w+)$/.exec(line);
    if (!m) throw new Error(`${dir}/labels.csv: cannot parse line "${line}"`);
    return { file: m[1] as string, labelIndex: Number(m[2]), label: m[3] as string, testIndex: Number(m[4]), format: m[5] as string };
  });
  return { dir, samples };
}
