/** Fetches image bytes for one URI (s3, http(s), file) under the download policy, with retries for transient failures. */
import type { S3Client } from '@aws-sdk/client-s3';
import { classify, PipelineError } from '../../platform/errors.ts';
import { retry, type RetryPolicy } from '../../platform/retry.ts';
import { deadline } from './deadline.ts';
import { fetchFile } from './file-fetch.ts';
import { fetchHttp, type Resolver } from './http-fetch.ts';
import { fetchS3 } from './s3-fetch.ts';
import { uriScheme } from './uri-policy.ts';

export interface FetchPolicy {
  /** Largest accepted download, in bytes. */
  maxBytes: number;
  /** Time budget of one attempt (connect, headers and body), in milliseconds. */
  timeoutMs: number;
  /** http(s) hosts allowed; empty allows any public host. Listed hosts may also be private or loopback. */
  allowedHosts: readonly string[];
  /** Directories file:// URIs must resolve into; empty disables file:// entirely. */
  allowedFileRoots: readonly string[];
  /** Read file:// images with synchronous calls (see FileFetchOptions.syncReads). */
  syncFileReads: boolean;
  /** http(s) redirects followed, each re-checked against the policy; 0 refuses redirects. */
  maxRedirects: number;
}

export interface FetchDeps {
  /** Required for s3:// URIs. */
  s3?: S3Client;
  /** DNS for http(s) hosts; the system resolver by default. */
  resolver?: Resolver;
  /** Aborts in-flight fetches, e.g. on shutdown. */
  signal?: AbortSignal;
}

export async function fetchImage(uri: string, policy: FetchPolicy, deps: FetchDeps = {}): Promise<Buffer> {
  const scheme = uriScheme(uri);
  if (scheme === 'file') return fetchFile(uri, { maxBytes: policy.maxBytes, allowedRoots: policy.allowedFileRoots, syncReads: policy.syncFileReads });
  if (scheme === 'http') {
    const budget = deadline(policy.timeoutMs, deps.signal);
    return fetchHttp(uri, {
      maxBytes: policy.maxBytes,
      allowedHosts: policy.allowedHosts,
      maxRedirects: policy.maxRedirects,
      deadline: budget,
      resolver: deps.resolver,
    });
  }
  if (deps.s3 === undefined) {
    throw new PipelineError('fetch', 'UnsupportedUri', `Cannot fetch ${uri}: no S3 client is configured for this service.`);
  }
  return fetchS3(uri, deps.s3, { maxBytes: policy.maxBytes, deadline: deadline(policy.timeoutMs, deps.signal, 'object-store') });
}

/** Outcome of a fetch with retries; failures are values, so one bad record never fails a whole batch. */
export type FetchOutcome =
  | { ok: true; bytes: Buffer; attempts: number }
  | { ok: false; error: PipelineError; attempts: number };

/** fetchImage retried with capped exponential backoff and jitter while failures are transient. */
export async function fetchWithRetry(
  uri: string,
  policy: FetchPolicy,
  retryPolicy: RetryPolicy,
  deps: FetchDeps = {},
  onRetry?: (err: PipelineError, attempt: number, delayMs: number) => void,
): Promise<FetchOutcome> {
  let attempts = 0;
  try {
    const bytes = await retry(
      (attempt) => {
        attempts = attempt;
        return fetchImage(uri, policy, deps);
      },
      {
        ...retryPolicy,
        signal: deps.signal,
        isRetryable: (err) => err instanceof PipelineError && err.transient,
        onRetry: (err, attempt, delayMs) => onRetry?.(err as PipelineError, attempt, delayMs),
      },
    );
    return { ok: true, bytes, attempts };
  } catch (err) {
    return { ok: false, error: classify(err, 'fetch'), attempts };
  }
}
