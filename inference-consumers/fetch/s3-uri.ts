/** Splits `s3://bucket/key` (the key taken verbatim, as S3 stores it). */
import { PipelineError, type Stage } from '../../platform/errors.ts';

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
