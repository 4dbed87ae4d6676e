/**
 * Pure: the media type of an encoded image from its first bytes, for the formats the consumers decode
 * (sharp: PNG, JPEG, WebP, GIF, TIFF, AVIF). Anything else is refused at the door with 422; a file that
 * starts right but is corrupt further in is found by the consumers and answered from the dead-letter topic.
 */
const startsWith = (b: Buffer, bytes: number[], at = 0): boolean => bytes.every((v, i) => b[at + i] === v);
const ascii = (b: Buffer, from: number, to: number): string => b.subarray(from, to).toString('latin1');

export function imageType(b: Buffer): string | undefined {
  if (startsWith(b, [0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a])) return 'image/png';
  if (startsWith(b, [0xff, 0xd8, 0xff])) return 'image/jpeg';
  if (ascii(b, 0, 6) === 'GIF87a' || ascii(b, 0, 6) === 'GIF89a') return 'image/gif';
  if (ascii(b, 0, 4) === 'RIFF' && ascii(b, 8, 12) === 'WEBP') return 'image/webp';
  if (startsWith(b, [0x49, 0x49, 0x2a, 0x00]) || startsWith(b, [0x4d, 0x4d, 0x00, 0x2a])) return 'image/tiff';
  // sharp's prebuilt libvips reads AVIF but not HEVC-coded HEIF, so only the AVIF brands pass.
  if (ascii(b, 4, 8) === 'ftyp' && ['avif', 'avis'].includes(ascii(b, 8, 12))) return 'image/avif';
  return undefined;
}
