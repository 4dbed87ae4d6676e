import sharp from 'sharp';
import { describe, expect, it } from 'vitest';
import { readImageHeader, readJpegHeader, readPngHeader } from '../../../models/runtime/preprocess/image-header.ts';

const create = (width: number, height: number, channels: 3 | 4) =>
  sharp({ create: { width, height, channels, background: { r: 10, g: 200, b: 30, alpha: 0.5 } } });

describe('readImageHeader agrees with sharp.metadata()', () => {
  const cases: [string, () => Promise<Buffer>][] = [
    ['RGB PNG', () => create(37, 21, 3).png().toBuffer()],
    ['RGBA PNG', () => create(5, 9, 4).png().toBuffer()],
    ['gray PNG', () => sharp(Buffer.alloc(12 * 7, 90), { raw: { width: 12, height: 7, channels: 1 } }).toColourspace('b-w').png().toBuffer()],
    ['palette PNG with transparency', () => create(16, 16, 4).png({ palette: true }).toBuffer()],
    ['16-bit PNG', () => create(6, 4, 3).toColourspace('rgb16').png().toBuffer()],
    ['interlaced PNG', () => create(33, 17, 3).png({ progressive: true }).toBuffer()],
    ['baseline JPEG', () => create(320, 240, 3).jpeg().toBuffer()],
    ['progressive JPEG with EXIF', () => create(64, 48, 3).withMetadata({ orientation: 6 }).jpeg({ progressive: true }).toBuffer()],
    ['gray JPEG', () => create(20, 10, 3).grayscale().jpeg().toBuffer()],
  ];
  it.each(cases)('%s', async (_, make) => {
    const bytes = await make();
    const { width, height, channels, orientation, format } = await sharp(bytes).metadata();
    expect(readImageHeader(bytes)).toMatchObject({ width, height, channels, ...(format === 'jpeg' ? { orientation: orientation ?? 1 } : {}) });
  });

  it.each([1, 3, 6, 8])('JPEG EXIF orientation %i, big- and little-endian', async (orientation) => {
    const jpeg = await create(16, 8, 3).withMetadata({ orientation }).jpeg().toBuffer();
    expect(readJpegHeader(jpeg)?.orientation).toBe(orientation);
    // libvips writes big-endian TIFF; the same IFD in little-endian order must read the same.
    const app1 = jpeg.indexOf(Buffer.from('Exif\0\0'));
    const tiff = app1 + 6;
    if (jpeg.readUInt16BE(tiff) === 0x4d4d) {
      const le = Buffer.from(jpeg);
      le.writeUInt16BE(0x4949, tiff);
      le.writeUInt16LE(42, tiff + 2);
      le.writeUInt32LE(jpeg.readUInt32BE(tiff + 4), tiff + 4);
      const ifd = tiff + jpeg.readUInt32BE(tiff + 4);
      const entries = jpeg.readUInt16BE(ifd);
      le.writeUInt16LE(entries, ifd);
      for (let i = 0; i < entries; i++) {
        const entry = ifd + 2 + i * 12;
        if (jpeg.readUInt16BE(entry) !== 0x0112) continue;
        le.writeUInt16LE(0x0112, entry);
        le.writeUInt16LE(jpeg.readUInt16BE(entry + 2), entry + 2);
        le.writeUInt32LE(jpeg.readUInt32BE(entry + 4), entry + 4);
        le.writeUInt16LE(jpeg.readUInt16BE(entry + 8), entry + 8);
      }
      expect(readJpegHeader(le)?.orientation).toBe(orientation);
    }
  });

  it('reads PNG details the fast path checks: bit depth, colour type, interlace, chunks before the data', async () => {
    const png = readPngHeader(await create(33, 17, 3).png({ progressive: true }).toBuffer());
    expect(png).toMatchObject({ bitDepth: 8, colorType: 2, interlaced: true });
    expect(png?.chunks[0]).toBe('IHDR');
    expect(png?.chunks.at(-1)).toBe('IDAT');
  });
});

describe('readImageHeader refuses what it does not know, for sharp to judge', () => {
  it('returns undefined for other formats, text, empty and truncated input', async () => {
    const webp = await create(8, 8, 3).webp().toBuffer();
    const jpeg = await create(8, 8, 3).jpeg().toBuffer();
    const png = await create(8, 8, 3).png().toBuffer();
    expect(readImageHeader(webp)).toBeUndefined();
    expect(readImageHeader(Buffer.from('not an image at all'))).toBeUndefined();
    expect(readImageHeader(Buffer.alloc(0))).toBeUndefined();
    expect(readImageHeader(png.subarray(0, 20))).toBeUndefined();
    expect(readJpegHeader(jpeg.subarray(0, 30))).toBeUndefined();
  });

  it('returns undefined for a PNG header with a zero size or an unknown colour type', async () => {
    const png = Buffer.from(await create(8, 8, 3).png().toBuffer());
    const zero = Buffer.from(png);
    zero.writeUInt32BE(0, 16);
    const badType = Buffer.from(png);
    badType[25] = 5;
    expect(readPngHeader(zero)).toBeUndefined();
    expect(readPngHeader(badType)).toBeUndefined();
  });

  it('survives a chunk length pointing past the end', async () => {
    const png = Buffer.from(await create(8, 8, 3).png().toBuffer());
    png.writeUInt32BE(0xffffffff, 33); // the chunk after IHDR
    expect(readPngHeader(png)).toMatchObject({ width: 8, height: 8 });
  });
});
