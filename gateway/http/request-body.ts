/**
 * The body of an inference request: content type checked first (415), size bounded while reading and again
 * after decompression (413), gzip and deflate accepted (tritonclient's request compression).
 */
import type { IncomingMessage } from 'node:http';
import { promisify } from 'node:util';
import { gunzip, inflate } from 'node:zlib';
import { HttpError } from './http-error.ts';

const ACCEPTED_TYPES = ['application/json', 'application/octet-stream'];

/**
 * Pure: JSON, or the binary tensor data extension's body (tritonclient sends that with no content type at
 * all, Triton's own examples with application/octet-stream).
 */
export function checkContentType(contentType: string | undefined): void {
  if (contentType === undefined) return;
  const type = contentType.split(';')[0]?.trim().toLowerCase() ?? '';
  if (!ACCEPTED_TYPES.includes(type)) {
    throw new HttpError(415, `content type ${JSON.stringify(type)} is not accepted: send an inference request as application/json, or as application/octet-stream with an Inference-Header-Content-Length header (binary tensor data)`);
  }
}

export function tooLarge(limit: number): HttpError {
  return new HttpError(413, `the request body is larger than ${limit} bytes (GATEWAY_MAX_BODY_BYTES); send fewer or smaller images, or an s3:// uri`, { headers: { connection: 'close' } });
}

/** Pure: a declared Content-Length over the limit is refused before a byte of the body is read. */
export function checkDeclaredLength(contentLength: string | undefined, limit: number): void {
  if (contentLength !== undefined && Number(contentLength) > limit) throw tooLarge(limit);
}

export async function readBody(req: IncomingMessage, limit: number): Promise<Buffer> {
  checkDeclaredLength(req.headers['content-length'], limit);
  const chunks: Buffer[] = [];
  let size = 0;
  try {
    for await (const chunk of req) {
      size += (chunk as Buffer).length;
      if (size > limit) throw tooLarge(limit);
      chunks.push(chunk as Buffer);
    }
  } catch (err) {
    if (err instanceof HttpError) throw err;
    throw new HttpError(400, `the request body was cut off after ${size} bytes (${(err as Error).message})`);
  }
  return decompress(Buffer.concat(chunks), req.headers['content-encoding'], limit);
}

const DECODERS: Record<string, (b: Buffer, o: { maxOutputLength: number }) => Promise<Buffer>> = {
  gzip: promisify(gunzip),
  deflate: promisify(inflate),
};

async function decompress(body: Buffer, encoding: string | undefined, limit: number): Promise<Buffer> {
  const name = encoding?.trim().toLowerCase() ?? 'identity';
  if (name === 'identity') return body;
  const decode = DECODERS[name];
  if (!decode) throw new HttpError(415, `content encoding ${JSON.stringify(name)} is not supported; send gzip, deflate or none`);
  try {
    return await decode(body, { maxOutputLength: limit });
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ERR_BUFFER_TOO_LARGE') throw tooLarge(limit);
    throw new HttpError(400, `the body does not decompress as ${name}: ${(err as Error).message}`);
  }
}
