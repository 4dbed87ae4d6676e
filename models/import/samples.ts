/**
 * Sample images for references and parity: a local folder (recursively) or an S3 prefix. Each sample is named
 * by its path relative to the folder or prefix, the name a parity file uses.
 */
import { readFile } from 'node:fs/promises';
import { relative, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { GetObjectCommand, type S3Client } from '@aws-sdk/client-s3';
import { parseS3Prefix, parseS3Uri } from '../../platform/s3-uri.ts';
import { listFolder, listS3Prefix } from '../../producers/sources.ts';

export interface SampleImage {
  id: string;
  bytes: Buffer;
}

export interface SampleSource {
  /** How the reference's source line names it. */
  where: string;
  ids: string[];
  read(id: string): Promise<Buffer>;
}

export async function folderSamples(dir: string): Promise<SampleSource> {
  const root = resolve(dir);
  const ids = (await listFolder(root)).map((uri) => relative(root, fileURLToPath(uri)));
  return { where: root, ids, read: (id) => readFile(resolve(root, id)) };
}

export async function s3Samples(s3: S3Client, uri: string): Promise<SampleSource> {
  const { bucket, prefix } = parseS3Prefix(uri, 'fetch');
  const base = prefix === '' || prefix.endsWith('/') ? prefix : `${prefix}/`;
  const uris = await listS3Prefix(s3, uri);
  return {
    where: uri,
    ids: uris.map((u) => parseS3Uri(u).key).filter((key) => key.startsWith(base) && key !== base).map((key) => key.slice(base.length)),
    read: async (id) => {
      const response = await s3.send(new GetObjectCommand({ Bucket: bucket, Key: `${base}${id}` }));
      return Buffer.from(await response.Body!.transformToByteArray());
    },
  };
}
