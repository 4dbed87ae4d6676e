/**
 * Splits s3:// URIs: one object (`s3://bucket/key`) or a prefix (`s3://bucket[/prefix]`), keys taken verbatim,
 * except that an object key's segments may not be empty, `.` or `..`.
 */
import { PipelineError, type Stage } from './errors.ts';

export interface S3Location {
  bucket: string;
  key: string;
}

export function parseS3Uri(uri: string, stage: Stage = 'fetch'): S3Location {
  const match = /^s3:\/\/([^/]+)\/(.*)$/i.exec(uri);
  if (!match?.[1]) {
    throw new PipelineError(stage, 'UnsupportedUri', `Malformed S3 URI ${uri}: use s3://bucket/key.`);
  }
  const key = match[2] ?? '';
  checkKeySegments(uri, key, stage);
  return { bucket: match[1], key };
}

/**
 * Object stores resolve or reject `.`, `..` and empty segments (MinIO answers "bad components" as an internal
 * error), so a key holding one is refused before any request, as the caller's fault. A trailing "/" is left to
 * callers: it names a prefix, not an object.
 */
function checkKeySegments(uri: string, key: string, stage: Stage): void {
  const segments = key.split('/');
  if (segments.at(-1) === '') segments.pop();
  if (segments.some((segment) => segment === '' || segment === '.' || segment === '..')) {
    throw new PipelineError(
      stage,
      'ForbiddenUri',
      `Refused ${uri}: object keys with empty, "." or ".." segments are not fetched; publish the object's key without them.`,
    );
  }
}

/** A bucket with an optional key prefix; the prefix is returned as written (a trailing "/" narrows a listing). */
export function parseS3Prefix(uri: string, stage: Stage): { bucket: string; prefix: string } {
  const match = /^s3:\/\/([^/]+)\/?(.*)$/i.exec(uri);
  if (!match?.[1]) {
    throw new PipelineError(stage, 'UnsupportedUri', `Malformed S3 URI ${uri}: use s3://bucket/prefix.`);
  }
  return { bucket: match[1], prefix: match[2] ?? '' };
}
