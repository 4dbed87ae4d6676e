/** One time budget per fetch, covering connect, headers and body, chained to a caller's abort signal. */
import { PipelineError } from '../../platform/errors.ts';

export interface Deadline {
  signal: AbortSignal;
  /** The error to throw for an aborted operation: Timeout when the budget ran out, else the caller's abort. */
  abortError(what: string): PipelineError;
}

export function deadline(timeoutMs: number, parent?: AbortSignal): Deadline {
  const timeout = AbortSignal.timeout(timeoutMs);
  const signal = parent ? AbortSignal.any([timeout, parent]) : timeout;
  return {
    signal,
    abortError(what) {
      if (timeout.aborted) {
        return new PipelineError('fetch', 'Timeout', `${what} took longer than ${timeoutMs} ms; it will be retried.`, true);
      }
      return new PipelineError('fetch', 'ConnectionError', `${what} was cancelled (shutting down).`, true);
    },
  };
}
