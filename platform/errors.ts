/**
 * Classified failures. Every record that cannot be processed ends on the dead-letter topic with the
 * stage and error class below; `transient` failures are retried with backoff before that.
 */
export type Stage = 'decode' | 'route' | 'fetch' | 'preprocess' | 'inference' | 'produce';

export type ErrorClass =
  | 'SchemaError'
  | 'NotFound'
  | 'AccessDenied'
  | 'NotAnImage'
  | 'TooManyPixels'
  | 'TooLarge'
  | 'ForbiddenUri'
  | 'UnsupportedUri'
  | 'UnknownVersion'
  | 'Timeout'
  | 'Throttled'
  | 'ConnectionError'
  | 'InferenceError'
  | 'InternalError';

export class PipelineError extends Error {
  override readonly name = 'PipelineError';
  constructor(
    readonly stage: Stage,
    readonly errorClass: ErrorClass,
    message: string,
    /** true: worth retrying (timeouts, throttling, resets); false: retrying cannot help. */
    readonly transient = false,
    options?: { cause?: unknown },
  ) {
    super(message, options);
  }
}

/** Wraps anything thrown into a PipelineError, keeping an existing classification. */
export function classify(err: unknown, stage: Stage, fallback: ErrorClass = 'InternalError'): PipelineError {
  if (err instanceof PipelineError) return err;
  const message = err instanceof Error ? err.message : String(err);
  return new PipelineError(stage, fallback, message, false, { cause: err });
}
