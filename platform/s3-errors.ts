/**
 * Classifies S3 SDK errors: missing objects and objects we may not read are the record's fault; throttling,
 * network trouble, server errors and refused credentials are the object store's (or our configuration's), so
 * once retries are exhausted they pause the partition instead of dead-lettering the record.
 */
import { errorCode, PipelineError, type Stage } from './errors.ts';

const NOT_FOUND = new Set(['NoSuchKey', 'NotFound', 'NoSuchBucket']);
const ACCESS_DENIED = new Set(['AccessDenied', 'Forbidden']);
const CREDENTIALS = new Set(['InvalidAccessKeyId', 'SignatureDoesNotMatch', 'ExpiredToken', 'InvalidToken']);
const THROTTLED = new Set(['SlowDown', 'Throttling', 'ThrottlingException', 'TooManyRequestsException', 'RequestLimitExceeded', 'ServiceUnavailable']);
const TIMEOUT = new Set(['TimeoutError', 'RequestTimeout', 'RequestTimeoutException']);
const CONNECTION = new Set(['ECONNRESET', 'ECONNREFUSED', 'EPIPE', 'ETIMEDOUT', 'EHOSTUNREACH', 'ENETUNREACH', 'EAI_AGAIN', 'ENOTFOUND', 'NetworkingError']);

function httpStatus(err: unknown): number | undefined {
  const status = (err as { $metadata?: { httpStatusCode?: unknown } } | null)?.$metadata?.httpStatusCode;
  return typeof status === 'number' ? status : undefined;
}

export function classifyS3Error(err: unknown, stage: Stage, what: string): PipelineError {
  if (err instanceof PipelineError) return err;
  const name = err instanceof Error ? err.name : '';
  const code = errorCode(err);
  const status = httpStatus(err);
  const detail = err instanceof Error ? err.message : String(err);
  const make = (errorClass: PipelineError['errorClass'], message: string, transient: boolean, infrastructure = false): PipelineError =>
    new PipelineError(stage, errorClass, `${what}: ${message} (${name || code || status}: ${detail})`, transient, {
      cause: err,
      ...(infrastructure ? { infrastructure: 'object-store' as const } : {}),
    });

  if (NOT_FOUND.has(name) || status === 404) return make('NotFound', 'no such object', false);
  if (CREDENTIALS.has(name)) return make('AccessDenied', 'the object store refused our credentials; check S3_ACCESS_KEY_ID and S3_SECRET_ACCESS_KEY', false, true);
  if (ACCESS_DENIED.has(name) || status === 403) return make('AccessDenied', 'access denied; check the bucket policy and credentials', false);
  if (THROTTLED.has(name) || status === 429 || status === 503) return make('Throttled', 'throttled by the object store; it will be retried', true, true);
  if (TIMEOUT.has(name) || code === 'ETIMEDOUT') return make('Timeout', 'timed out; it will be retried', true, true);
  if (CONNECTION.has(name) || (code !== undefined && CONNECTION.has(code))) {
    return make('ConnectionError', 'connection to the object store failed; it will be retried', true, true);
  }
  if (status !== undefined && status >= 500) return make('ConnectionError', 'object store error; it will be retried', true, true);
  return make('InternalError', 'unexpected object store error', false);
}
