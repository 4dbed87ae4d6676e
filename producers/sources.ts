import { readdir, readFile } from 'node:fs/promises';
import { extname, join, resolve } from 'node:path';
import { pathToFileURL } from 'node:url';
import { ListObjectsV2Command, type S3Client } from '@aws-sdk/client-s3';
import { parseS3Prefix } from '../platform/s3-uri.ts';

const IMAGE_EXTENSIONS = new Set(['.png', '.jpg', '.jpeg', '.webp', '.gif', '.tif', '.tiff', '.avif']);

/** file:// URIs of the images in a folder (recursively), sorted so runs are repeatable. */
export async function listFolder(dir: string): Promise<string[]> {
  const entries = await readdir(resolve(dir), { recursive: true, withFileTypes: true });
  return entries
    .filter((e) => e.isFile() && IMAGE_EXTENSIONS.has(extname(e.name).toLowerCase()))
    .map((e) => pathToFileURL(join(e.parentPath, e.name)).href)
    .sort();
}

/** s3:// URIs of every object under a prefix, page by page. */
export async function listS3Prefix(s3: S3Client, uri: string): Promise<string[]> {
  const { bucket, prefix } = parseS3Prefix(uri, 'fetch');
  const uris: string[] = [];
  let token: string | undefined;
  do {
    const page = await s3.send(new ListObjectsV2Command({ Bucket: bucket, Prefix: prefix, ContinuationToken: token }));
    for (const o of page.Contents ?? []) if (o.Key && !o.Key.endsWith('/')) uris.push(`s3://${bucket}/${o.Key}`);
    token = page.IsTruncated ? page.NextContinuationToken : undefined;
  } while (token);
  return uris;
}

/** One URI a line; blank lines and # comments skipped. */
export async function readUrlList(file: string): Promise<string[]> {
  return (await readFile(file, 'utf8'))
    .split('\n')
    .map((l) => l.trim())
    .filter((l) => l && !l.startsWith('#'));
}
