/** Reads a byte stream into one Buffer, aborting as soon as it passes the byte limit. */
import { PipelineError } from '../../platform/errors.ts';

export function tooLarge(what: string, maxBytes: number, size?: number): PipelineError {
  const actual = size === undefined ? `more than ${maxBytes}` : String(size);
  return new PipelineError(
    'fetch',
    'TooLarge',
    `${what} is ${actual} bytes, over the ${maxBytes}-byte limit; shrink the image or raise the maximum download size.`,
  );
}

interface Destroyable {
  destroy?: (err?: Error) => void;
}

export async function readLimited(
  stream: AsyncIterable<Uint8Array> & Destroyable,
  maxBytes: number,
  what: string,
): Promise<Buffer> {
  const chunks: Uint8Array[] = [];
  let total = 0;
  for await (const chunk of stream) {
    total += chunk.byteLength;
    if (total > maxBytes) {
      // Stop the transfer now rather than draining a possibly endless body.
      stream.destroy?.();
      throw tooLarge(what, maxBytes);
    }
    chunks.push(chunk);
  }
  return Buffer.concat(chunks, total);
}
