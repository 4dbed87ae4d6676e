import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { HeadObjectCommand, PutObjectCommand, type S3Client } from '@aws-sdk/client-s3';
import { mapWithConcurrency } from '../../platform/concurrency.ts';
import type { SampleSet } from './write-samples.ts';

/** Uploads a sample set to s3://bucket/prefix/, skipping objects already there; returns the s3:// URI per file. */
export async function uploadSamples(s3: S3Client, bucket: string, prefix: string, set: SampleSet): Promise<Map<string, string>> {
  const uris = new Map<string, string>();
  await mapWithConcurrency(set.samples, 16, async (s) => {
    const key = `${prefix.replace(/\/+$/, '')}/${s.file}`;
    const exists = await s3.send(new HeadObjectCommand({ Bucket: bucket, Key: key })).then(() => true, () => false);
    if (!exists) {
      const contentType = s.file.endsWith('.jpg') ? 'image/jpeg' : 'image/png';
      await s3.send(new PutObjectCommand({ Bucket: bucket, Key: key, Body: await readFile(join(set.dir, s.file)), ContentType: contentType }));
    }
    uris.set(s.file, `s3://${bucket}/${key}`);
  });
  return uris;
}
