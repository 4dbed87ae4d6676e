/**
 * Reads a model version from an S3 prefix through the injected client. Model files are cached on local
 * disk by their sha256, so a restart or a second consumer does not download again; a cached file is
 * verified again on every use and replaced when it does not match.
 */
import { GetObjectCommand, type S3Client } from '@aws-sdk/client-s3';
import { mkdir, readFile, rename, rm, writeFile } from 'node:fs/promises';
import path from 'node:path';
import type { Logger } from 'pino';
import { classifyS3Error } from '../../platform/s3-errors.ts';
import { PipelineError } from '../../platform/errors.ts';
import { sha256Hex, verifySha256 } from './checksum.ts';
import type { ModelFiles } from './local-source.ts';
import { MANIFEST_FILE, s3Key } from './model-location.ts';
import { parseManifestJson } from './parse-manifest.ts';

export interface S3ModelOptions {
  client: S3Client;
  /** Directory for downloaded model files, keyed by sha256; no caching when absent. */
  cacheDir?: string;
  logger: Logger;
}

export async function readS3Model(bucket: string, prefix: string, options: S3ModelOptions): Promise<ModelFiles> {
  const manifestUri = `s3://${bucket}/${s3Key(prefix, MANIFEST_FILE)}`;
  const manifestBytes = await getObject(options.client, bucket, s3Key(prefix, MANIFEST_FILE), manifestUri);
  const manifest = parseManifestJson(Buffer.from(manifestBytes).toString('utf8'), manifestUri);
  const modelUri = `s3://${bucket}/${s3Key(prefix, manifest.file)}`;
  const expected = manifest.sha256.toLowerCase();
  const cachePath = options.cacheDir === undefined ? undefined : path.join(options.cacheDir, `${expected}.onnx`);

  if (cachePath !== undefined) {
    const cached = await readFile(cachePath).catch(() => undefined);
    if (cached !== undefined) {
      if (sha256Hex(cached) === expected) {
        options.logger.info({ model: modelUri, cache: cachePath }, 'model file taken from the local cache');
        return { manifest, bytes: cached, sha256: expected };
      }
      options.logger.warn({ model: modelUri, cache: cachePath }, 'cached model file does not match its sha256; downloading it again');
      await rm(cachePath, { force: true });
    }
  }

  const bytes = await getObject(options.client, bucket, s3Key(prefix, manifest.file), modelUri);
  const sha256 = verifySha256(bytes, manifest.sha256, modelUri, manifestUri);
  if (cachePath !== undefined) await writeCache(cachePath, bytes, options.logger);
  return { manifest, bytes, sha256 };
}

async function getObject(client: S3Client, bucket: string, key: string, uri: string): Promise<Uint8Array> {
  try {
    const response = await client.send(new GetObjectCommand({ Bucket: bucket, Key: key }));
    if (response.Body === undefined) throw new PipelineError('inference', 'NotFound', `${uri} has no body.`);
    return await response.Body.transformToByteArray();
  } catch (err) {
    throw classifyS3Error(err, 'inference', `Reading ${uri}`);
  }
}

/** Write-then-rename, so a crash never leaves a partial file under the final name. */
async function writeCache(cachePath: string, bytes: Uint8Array, logger: Logger): Promise<void> {
  const temporary = `${cachePath}.${process.pid}.${Date.now()}.partial`;
  try {
    await mkdir(path.dirname(cachePath), { recursive: true });
    await writeFile(temporary, bytes);
    await rename(temporary, cachePath);
  } catch (err) {
    // The model is verified and in memory; a cache that cannot be written only costs a later download.
    logger.warn({ cache: cachePath, err: err instanceof Error ? err.message : String(err) }, 'could not write the model cache');
    await rm(temporary, { force: true });
  }
}
