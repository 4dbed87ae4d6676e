/**
 * The binary tensor data extension (Triton, KServe): a JSON header of `Inference-Header-Content-Length` bytes,
 * then each binary tensor's bytes in input order. BYTES elements are a 4-byte little-endian length followed by
 * the bytes; FP32 and INT32 are little-endian, row major.
 */
import { HttpError } from '../http/http-error.ts';

export const HEADER_LENGTH = 'inference-header-content-length';

/** Splits a body into its JSON header and binary part; without the header the whole body is JSON. */
export function splitBody(body: Buffer, headerLength: string | undefined): { json: Buffer; binary: Buffer } {
  if (headerLength === undefined) return { json: body, binary: Buffer.alloc(0) };
  const n = Number(headerLength);
  if (!/^\d+$/.test(headerLength.trim()) || n > body.length) {
    throw new HttpError(400, `Inference-Header-Content-Length is ${JSON.stringify(headerLength)} but must be the byte length of the JSON header, at most the body's ${body.length} bytes`);
  }
  return { json: body.subarray(0, n), binary: body.subarray(n) };
}

/** Reads `count` length-prefixed BYTES elements that must fill `data` exactly. */
export function readBytesElements(data: Buffer, count: number, input: string): Buffer[] {
  const elements: Buffer[] = [];
  let offset = 0;
  while (offset < data.length) {
    if (offset + 4 > data.length) throw malformed(input, `a truncated 4-byte length at byte ${offset}`);
    const length = data.readUInt32LE(offset);
    offset += 4;
    if (offset + length > data.length) throw malformed(input, `element ${elements.length} claims ${length} bytes but ${data.length - offset} remain`);
    elements.push(data.subarray(offset, offset + length));
    offset += length;
  }
  if (elements.length !== count) throw malformed(input, `${elements.length} elements where the shape asks for ${count}`);
  return elements;
}

function malformed(input: string, what: string): HttpError {
  return new HttpError(400, `binary data of input "${input}" is not a BYTES tensor (4-byte little-endian length, then the bytes, per element): ${what}`);
}

export function encodeBytesElements(elements: readonly (string | Buffer)[]): Buffer {
  const parts: Buffer[] = [];
  for (const e of elements) {
    const bytes = typeof e === 'string' ? Buffer.from(e, 'utf8') : e;
    const length = Buffer.alloc(4);
    length.writeUInt32LE(bytes.length);
    parts.push(length, bytes);
  }
  return Buffer.concat(parts);
}

export function encodeFloat32(values: readonly number[]): Buffer {
  const out = Buffer.alloc(values.length * 4);
  values.forEach((v, i) => out.writeFloatLE(v, i * 4));
  return out;
}

export function encodeInt32(values: readonly number[]): Buffer {
  const out = Buffer.alloc(values.length * 4);
  values.forEach((v, i) => out.writeInt32LE(v, i * 4));
  return out;
}
