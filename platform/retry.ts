/**
 * Retry with capped exponential backoff and jitter, for transient failures (timeouts, throttling,
 * connection resets). Used by fetching, routing and producing; callers decide what is transient.
 */

export interface RetryPolicy {
  /** Total tries including the first; 1 means no retry. */
  attempts: number;
  /** Delay ceiling before the first retry, in milliseconds; doubles per retry. */
  baseMs: number;
  /** No single delay exceeds this, in milliseconds. */
  capMs: number;
}

export interface RetryOptions extends RetryPolicy {
  /** Whether an error is worth another try; non-retryable errors are rethrown at once. */
  isRetryable: (err: unknown) => boolean;
  /** Called before each wait, e.g. to log or count retries. */
  onRetry?: (err: unknown, attempt: number, delayMs: number) => void;
  /** Stops waiting and rethrows the last error when aborted (e.g. on shutdown). */
  signal?: AbortSignal;
  /** Injected for deterministic tests; defaults to Math.random. */
  random?: () => number;
}

/**
 * Delay before retry number `retry` (1-based): "equal jitter", half fixed and half random, so retries
 * from many consumers spread out but never collapse to zero delay.
 */
export function backoffDelay(retry: number, policy: Pick<RetryPolicy, 'baseMs' | 'capMs'>, random: () => number = Math.random): number {
  const ceiling = Math.min(policy.capMs, policy.baseMs * 2 ** (retry - 1));
  return ceiling / 2 + random() * (ceiling / 2);
}

export async function retry<T>(fn: (attempt: number) => Promise<T>, options: RetryOptions): Promise<T> {
  const attempts = Math.max(1, Math.floor(options.attempts));
  for (let attempt = 1; ; attempt++) {
    try {
      return await fn(attempt);
    } catch (err) {
      if (attempt >= attempts || !options.isRetryable(err) || options.signal?.aborted) throw err;
      const delayMs = backoffDelay(attempt, options, options.random);
      options.onRetry?.(err, attempt, delayMs);
      const completed = await sleep(delayMs, options.signal);
      if (!completed) throw err;
    }
  }
}

/** Resolves true after `ms`, or false as soon as `signal` aborts. */
function sleep(ms: number, signal?: AbortSignal): Promise<boolean> {
  return new Promise((resolve) => {
    if (signal?.aborted) return resolve(false);
    const onAbort = (): void => {
      clearTimeout(timer);
      resolve(false);
    };
    const timer = setTimeout(() => {
      signal?.removeEventListener('abort', onAbort);
      resolve(true);
    }, ms);
    signal?.addEventListener('abort', onAbort, { once: true });
  });
}
