/** Where a model version lives: a local directory (plain path or file:// URI) or an S3 prefix. */
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { PipelineError } from '../../platform/errors.ts';
import { parseS3Prefix } from '../../platform/s3-uri.ts';

export type ModelLocation = { kind: 'local'; dir: string } | { kind: 's3'; bucket: string; prefix: string };

export const MANIFEST_FILE = 'manifest.json';

export function parseModelLocation(uri: string, cwd: string = process.cwd()): ModelLocation {
  if (/^s3:\/\//i.test(uri)) {
    const { bucket, prefix } = parseS3Prefix(uri, 'inference');
    return { kind: 's3', bucket, prefix: prefix.replace(/\/+$/, '') };
  }
  if (/^file:/i.test(uri)) {
    try {
      return { kind: 'local', dir: fileURLToPath(uri) };
    } catch (err) {
      throw new PipelineError('inference', 'UnsupportedUri', `Malformed model URI ${uri}: use file:///absolute/dir.`, false, { cause: err });
    }
  }
  if (/^[a-z][a-z0-9+.-]*:\/\//i.test(uri)) {
    throw new PipelineError('inference', 'UnsupportedUri', `Unsupported model URI ${uri}: use a directory path, file:///dir or s3://bucket/prefix.`);
  }
  return { kind: 'local', dir: path.resolve(cwd, uri) };
}

/** Key of a file inside an S3 model prefix. */
export function s3Key(prefix: string, file: string): string {
  return prefix === '' ? file : `${prefix}/${file}`;
}
