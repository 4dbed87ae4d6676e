/** Fetches an image object from S3 (or any S3-compatible store) through the injected client. */
import { GetObjectCommand, type S3Client } from '@aws-sdk/client-s3';
import { PipelineError } from '../../platform/errors.ts';
import type { Deadline } from './deadline.ts';
import { readLimited, tooLarge } from './read-limited.ts';
import { classifyS3Error } from '../../platform/s3-errors.ts';
import { parseS3Uri } from '../../platform/s3-uri.ts';

export interface S3FetchOptions {
  maxBytes: number;
  deadline: Deadline;
}

export async function fetchS3(uri: string, client: S3Client, options: S3FetchOptions): Promise<Buffer> {
  const { bucket, key } = parseS3Uri(uri);
  if (key === '' || key.endsWith('/')) {
    throw new PipelineError('fetch', 'UnsupportedUri', `${uri} names a prefix, not an object; publish the object's full key.`);
  }
  const what = `Object ${uri}`;
  try {
    const response = await client.send(new GetObjectCommand({ Bucket: bucket, Key: key }), { abortSignal: options.deadline.signal });
    const body = response.Body as (AsyncIterable<Uint8Array> & { destroy?: () => void }) | undefined;
    if (body === undefined) throw new PipelineError('fetch', 'NotFound', `${what} has no body.`);
    if (response.ContentLength !== undefined && response.ContentLength > options.maxBytes) {
      body.destroy?.();
      throw tooLarge(what, options.maxBytes, response.ContentLength);
    }
    return await readLimited(body, options.maxBytes, what);
  } catch (err) {
    if (options.deadline.signal.aborted && !(err instanceof PipelineError)) throw options.deadline.abortError(what);
    throw classifyS3Error(err, 'fetch', what);
  }
}
