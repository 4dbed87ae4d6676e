/**
 * Image size read from the first bytes of a PNG or JPEG without decoding: the pixel-count check and the
 * Prediction's input statistics need it before (and apart from) the one decoding call. Pure and defensive:
 * anything it does not recognise returns undefined and the caller asks sharp instead.
 */

interface HeaderSize {
  /** Stored size, before any EXIF orientation (as sharp's metadata() reports it). */
  width: number;
  height: number;
  /** Channels as decoded (sharp's metadata().channels): alpha and a tRNS chunk count. */
  channels: number;
}

/** What the PNG fast path needs to know on top of the size. */
export interface PngHeader extends HeaderSize {
  format: 'png';
  bitDepth: number;
  /** 0 gray, 2 RGB, 3 palette, 4 gray + alpha, 6 RGBA. */
  colorType: number;
  interlaced: boolean;
  /** Chunk types before the first IDAT, e.g. ['IHDR', 'gAMA', 'IDAT']. */
  chunks: string[];
}

export interface JpegHeader extends HeaderSize {
  format: 'jpeg';
  /** EXIF orientation 1..8 from an APP1 segment before the frame header; 1 when there is none. */
  orientation: number;
}

export type ImageHeader = PngHeader | JpegHeader;

const PNG_SIGNATURE = [0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a];
const PNG_CHANNELS: Record<number, number> = { 0: 1, 2: 3, 3: 3, 4: 2, 6: 4 };
/** A header that claims more than this is garbage, whatever MAX_PIXELS says. */
const MAX_DIMENSION = 1 << 24;

export function readImageHeader(bytes: Uint8Array): ImageHeader | undefined {
  return readPngHeader(bytes) ?? readJpegHeader(bytes);
}

export function readPngHeader(bytes: Uint8Array): PngHeader | undefined {
  if (bytes.length < 33 || PNG_SIGNATURE.some((b, i) => bytes[i] !== b)) return undefined;
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  if (view.getUint32(8) !== 13 || chunkType(bytes, 12) !== 'IHDR') return undefined;
  const width = view.getUint32(16);
  const height = view.getUint32(20);
  const bitDepth = bytes[24] as number;
  const colorType = bytes[25] as number;
  const base = PNG_CHANNELS[colorType];
  if (base === undefined || !validSize(width, height)) return undefined;
  const chunks: string[] = [];
  // Walk the chunk list up to the image data: length (4), type (4), data, CRC (4).
  for (let at = 8; at + 8 <= bytes.length && chunks.length < 1_000; ) {
    const type = chunkType(bytes, at + 4);
    chunks.push(type);
    if (type === 'IDAT' || type === 'IEND') break;
    at += 12 + view.getUint32(at);
  }
  const transparency = chunks.includes('tRNS') && (colorType === 0 || colorType === 2 || colorType === 3) ? 1 : 0;
  return { format: 'png', width, height, channels: base + transparency, bitDepth, colorType, interlaced: bytes[28] === 1, chunks };
}

function chunkType(bytes: Uint8Array, at: number): string {
  return String.fromCharCode(bytes[at] ?? 0, bytes[at + 1] ?? 0, bytes[at + 2] ?? 0, bytes[at + 3] ?? 0);
}

/** Baseline, progressive, lossless and arithmetic SOF markers carry the frame size; C4, C8 and CC do not. */
function isStartOfFrame(marker: number): boolean {
  return marker >= 0xc0 && marker <= 0xcf && marker !== 0xc4 && marker !== 0xc8 && marker !== 0xcc;
}

export function readJpegHeader(bytes: Uint8Array): JpegHeader | undefined {
  if (bytes.length < 4 || bytes[0] !== 0xff || bytes[1] !== 0xd8) return undefined;
  let at = 2;
  let orientation = 1;
  while (at + 4 <= bytes.length) {
    if (bytes[at] !== 0xff) return undefined;
    const marker = bytes[at + 1] as number;
    if (marker === 0xff) {
      at += 1; // fill byte
      continue;
    }
    // Markers without a length: TEM, RST0-7.
    if (marker === 0x01 || (marker >= 0xd0 && marker <= 0xd7)) {
      at += 2;
      continue;
    }
    if (marker === 0xd9 || marker === 0xda) return undefined; // EOI or scan data before any frame header
    const length = ((bytes[at + 2] as number) << 8) | (bytes[at + 3] as number);
    if (length < 2) return undefined;
    if (marker === 0xe1) orientation = exifOrientation(bytes.subarray(at + 4, Math.min(bytes.length, at + 2 + length))) ?? orientation;
    if (isStartOfFrame(marker)) {
      if (at + 10 > bytes.length) return undefined;
      const height = ((bytes[at + 5] as number) << 8) | (bytes[at + 6] as number);
      const width = ((bytes[at + 7] as number) << 8) | (bytes[at + 8] as number);
      const channels = bytes[at + 9] as number;
      if (!validSize(width, height) || channels < 1 || channels > 4) return undefined;
      return { format: 'jpeg', width, height, channels, orientation };
    }
    at += 2 + length;
  }
  return undefined;
}

const EXIF_ORIENTATION_TAG = 0x0112;

/** The orientation tag of IFD0 in an APP1 payload ("Exif\0\0" then a TIFF header), or undefined. */
function exifOrientation(app1: Uint8Array): number | undefined {
  if (app1.length < 14 || String.fromCharCode(...app1.subarray(0, 4)) !== 'Exif' || app1[4] !== 0 || app1[5] !== 0) return undefined;
  const tiff = new DataView(app1.buffer, app1.byteOffset + 6, app1.byteLength - 6);
  const order = tiff.getUint16(0);
  if (order !== 0x4949 && order !== 0x4d4d) return undefined;
  const little = order === 0x4949;
  const ifd = tiff.getUint32(4, little);
  if (ifd + 2 > tiff.byteLength) return undefined;
  const entries = tiff.getUint16(ifd, little);
  for (let i = 0; i < entries; i++) {
    const entry = ifd + 2 + i * 12;
    if (entry + 12 > tiff.byteLength) return undefined;
    if (tiff.getUint16(entry, little) !== EXIF_ORIENTATION_TAG) continue;
    const value = tiff.getUint16(entry + 8, little);
    return value >= 1 && value <= 8 ? value : undefined;
  }
  return undefined;
}

function validSize(width: number, height: number): boolean {
  return width > 0 && height > 0 && width <= MAX_DIMENSION && height <= MAX_DIMENSION;
}
