import { S3Client } from '@aws-sdk/client-s3';
import type { EnvReader } from './config.ts';

export interface S3Settings {
  endpoint: string | undefined;
  region: string;
  accessKeyId: string | undefined;
  secretAccessKey: string | undefined;
  forcePathStyle: boolean;
  bucket: string;
}

/** Defaults point at the local stack's MinIO; unset S3_ENDPOINT with real AWS credentials to use AWS S3. */
export function readS3Settings(env: EnvReader): S3Settings {
  return {
    endpoint: env.optionalString('S3_ENDPOINT') === 'aws' ? undefined : env.url('S3_ENDPOINT', 'http://127.0.0.1:9000'),
    region: env.string('S3_REGION', 'us-east-1'),
    accessKeyId: env.string('S3_ACCESS_KEY_ID', 'minioadmin'),
    secretAccessKey: env.string('S3_SECRET_ACCESS_KEY', 'minioadmin'),
    forcePathStyle: env.bool('S3_FORCE_PATH_STYLE', true),
    bucket: env.string('S3_BUCKET', 'images'),
  };
}

export function createS3Client(s: S3Settings): S3Client {
  return new S3Client({
    region: s.region,
    forcePathStyle: s.forcePathStyle,
    ...(s.endpoint ? { endpoint: s.endpoint } : {}),
    ...(s.accessKeyId && s.secretAccessKey
      ? { credentials: { accessKeyId: s.accessKeyId, secretAccessKey: s.secretAccessKey } }
      : {}),
    // Retries of our own (platform/retry.ts) decide when a transient failure becomes a dead letter.
    maxAttempts: 1,
  });
}
