/**
 * The gateway's OpenAPI document (gateway/openapi.json), read when first asked for rather than at start, so a
 * gateway runs without it; once read and found to be JSON it is kept.
 */
import { readFile } from 'node:fs/promises';
import { basename } from 'node:path';
import { HttpError } from './http-error.ts';

export function openApiDocument(path: string): () => Promise<Buffer> {
  let document: Buffer | undefined;
  return async () => {
    if (document) return document;
    let text: Buffer;
    try {
      text = await readFile(path);
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code === 'ENOENT') throw new HttpError(404, `this gateway has no OpenAPI document (${basename(path)} is missing)`);
      throw err;
    }
    try {
      JSON.parse(text.toString('utf8'));
    } catch (err) {
      throw new HttpError(500, `the gateway's OpenAPI document ${basename(path)} is not valid JSON (${(err as Error).message})`);
    }
    document = text;
    return document;
  };
}
