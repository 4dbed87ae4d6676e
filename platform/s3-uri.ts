/** Splits s3:// URIs: one object (`s3://bucket/key`) or a prefix (`s3://bucket[/prefix]`), keys taken verbatim. */
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
  return { bucket: match[1], key: match[2] ?? '' };
}

/** A bucket with an optional key prefix; the prefix is returned as written (a trailing "/" narrows a listing). */
export function parseS3Prefix(uri: string, stage: Stage): { bucket: string; prefix: string } {
  const match = /^s3:\/\/([^/]+)\/?(.*)$/i.exec(uri);
  if (!match?.[1]) {
    throw new PipelineError(stage, 'UnsupportedUri', `Malformed S3 URI ${uri}: use s3://bucket/prefix.`);
  }
  return { bucket: match[1], prefix: match[2] ?? '' };
}
