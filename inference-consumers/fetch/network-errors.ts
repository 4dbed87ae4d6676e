/** Maps socket and DNS failures to pipeline error classes; resets and refusals are worth a retry. */
import { errorCode, PipelineError } from '../../platform/errors.ts';

export { errorCode };

const TRANSIENT_CODES = new Set([
  'ECONNRESET',
  'ECONNREFUSED',
  'ECONNABORTED',
  'EPIPE',
  'ETIMEDOUT',
  'EHOSTUNREACH',
  'ENETUNREACH',
  'ENETDOWN',
  'EAI_AGAIN',
  'UND_ERR_SOCKET',
  'ERR_STREAM_PREMATURE_CLOSE',
]);

/** A PipelineError for a network failure, or undefined when `err` is not one. */
export function networkError(err: unknown, what: string): PipelineError | undefined {
  const code = errorCode(err);
  if (code === undefined) return undefined;
  const message = err instanceof Error ? err.message : code;
  if (code === 'ENOTFOUND') {
    return new PipelineError('fetch', 'NotFound', `${what}: host name does not resolve (${message}).`, false, { cause: err });
  }
  if (TRANSIENT_CODES.has(code)) {
    return new PipelineError('fetch', 'ConnectionError', `${what}: connection failed (${code}); it will be retried.`, true, {
      cause: err,
    });
  }
  return undefined;
}
