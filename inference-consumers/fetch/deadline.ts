/** One time budget per fetch, covering connect, headers and body, chained to a caller's abort signal. */
import { PipelineError, type Infrastructure } from '../../platform/errors.ts';

export interface Deadline {
  signal: AbortSignal;
  /** The error to throw for an aborted operation: Timeout when the budget ran out, else the caller's abort. */
  abortError(what: string): PipelineError;
}

/** `infrastructure`: whose failure a timeout is once retries are exhausted (the object store), if not the record's. */
export function deadline(timeoutMs: number, parent?: AbortSignal, infrastructure?: Infrastructure): Deadline {
  const timeout = AbortSignal.timeout(timeoutMs);
  const signal = parent ? AbortSignal.any([timeout, parent]) : timeout;
  return {
    signal,
    abortError(what) {
      if (timeout.aborted) {
        return new PipelineError('fetch', 'Timeout', `${what} took longer than ${timeoutMs} ms; it will be retried.`, true, infrastructure ? { infrastructure } : {});
      }
      return new PipelineError('fetch', 'ConnectionError', `${what} was cancelled (shutting down).`, true);
    },
  };
}
