import { mkdir, readdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import sharp from 'sharp';
import { readFashionMnist } from '../scripts/samples/fashion-mnist.ts';
import { writeSamples } from '../scripts/samples/write-samples.ts';

/** file:// URIs of the images a model is benchmarked on; the same list feeds the in-process and pipeline runs. */
export async function benchImages(kind: 'fashion' | 'photo', dir: string, count: number): Promise<string[]> {
  if (kind === 'fashion') {
    const set = await writeSamples(join(dir, 'fashion'), 'lossless', count);
    return set.samples.map((s) => pathToFileURL(join(set.dir, s.file)).href);
  }
  // Photo-sized inputs for the 224×224 model: 320×240 RGB JPEGs (tinted, upscaled Fashion-MNIST images), so
  // decoding, the cover crop and resizing cost what they would on camera images of that size.
  const out = join(dir, `photo-${count}`);
  await mkdir(out, { recursive: true });
  const existing = (await readdir(out)).filter((f) => f.endsWith('.jpg'));
  if (existing.length < count) {
    const { images } = await readFashionMnist('t10k');
    const size = images.rows * images.cols;
    for (let i = 0; i < count; i++) {
      const gray = images.pixels.subarray(i * size, (i + 1) * size);
      const rgb = Buffer.alloc(size * 3);
      for (let p = 0; p < size; p++) {
        const v = gray[p] as number;
        rgb[p * 3] = v;
        rgb[p * 3 + 1] = (v * (i % 7)) / 7;
        rgb[p * 3 + 2] = 255 - v;
      }
      const jpeg = await sharp(rgb, { raw: { width: 28, height: 28, channels: 3 } }).resize(320, 240, { fit: 'fill' }).jpeg({ quality: 90 }).toBuffer();
      await writeFile(join(out, `${String(i).padStart(5, '0')}.jpg`), jpeg);
    }
  }
  return Array.from({ length: count }, (_, i) => pathToFileURL(join(out, `${String(i).padStart(5, '0')}.jpg`)).href);
}
