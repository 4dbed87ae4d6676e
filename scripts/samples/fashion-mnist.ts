import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { gunzipSync } from 'node:zlib';

/** Debian's dataset-fashion-mnist package installs the IDX files here. */
export const FASHION_MNIST_DIR = process.env.FASHION_MNIST_DIR ?? '/usr/share/datasets/fashion-mnist';

export const FASHION_MNIST_LABELS = [
  'T-shirt/top', 'Trouser', 'Pullover', 'Dress', 'Coat', 'Sandal', 'Shirt', 'Sneaker', 'Bag', 'Ankle boot',
] as const;

export interface IdxImages {
  count: number;
  rows: number;
  cols: number;
  /** count × rows × cols bytes, row-major. */
  pixels: Buffer;
}

/** Pure: parses an IDX3 image file (magic 0x00000803, big-endian sizes). */
export function parseIdxImages(data: Buffer): IdxImages {
  if (data.readUInt32BE(0) !== 0x803) throw new Error('not an IDX3 image file (magic number is not 0x00000803)');
  const count = data.readUInt32BE(4);
  const rows = data.readUInt32BE(8);
  const cols = data.readUInt32BE(12);
  const pixels = data.subarray(16);
  if (pixels.length !== count * rows * cols) throw new Error(`IDX3 file holds ${pixels.length} pixel bytes, expected ${count * rows * cols}`);
  return { count, rows, cols, pixels };
}

/** Pure: parses an IDX1 label file (magic 0x00000801). */
export function parseIdxLabels(data: Buffer): Uint8Array {
  if (data.readUInt32BE(0) !== 0x801) throw new Error('not an IDX1 label file (magic number is not 0x00000801)');
  const count = data.readUInt32BE(4);
  const labels = data.subarray(8);
  if (labels.length !== count) throw new Error(`IDX1 file holds ${labels.length} labels, expected ${count}`);
  return labels;
}

export async function readFashionMnist(split: 'train' | 't10k', dir = FASHION_MNIST_DIR): Promise<{ images: IdxImages; labels: Uint8Array }> {
  const read = async (name: string): Promise<Buffer> => {
    try {
      return gunzipSync(await readFile(join(dir, name)));
    } catch (err) {
      throw new Error(`cannot read ${join(dir, name)}: ${(err as Error).message}. Install Debian's dataset: apt-get install dataset-fashion-mnist (or set FASHION_MNIST_DIR)`);
    }
  };
  const [images, labels] = await Promise.all([read(`${split}-images-idx3-ubyte.gz`), read(`${split}-labels-idx1-ubyte.gz`)]);
  return { images: parseIdxImages(images), labels: parseIdxLabels(labels) };
}
