/**
 * Classified failures. A record's own failure ends on the dead-letter topic with the stage and error class
 * below (`transient` ones are retried with backoff first). A failure of the infrastructure a record needs is
 * not the record's fault: it becomes a SystemicError, and the partition pauses and retries instead.
 */
export type Stage = 'decode' | 'route' | 'fetch' | 'preprocess' | 'inference' | 'produce';

export type ErrorClass =
  | 'SchemaError'
  | 'SchemaMismatch'
  | 'NotFound'
  | 'AccessDenied'
  | 'NotAnImage'
  | 'TooManyPixels'
  | 'TooLarge'
  | 'ForbiddenUri'
  | 'UnsupportedUri'
  | 'UnknownVersion'
  | 'UnknownModel'
  | 'InvalidRequest'
  | 'Expired'
  | 'Timeout'
  | 'Throttled'
  | 'ConnectionError'
  | 'InferenceError'
  | 'InternalError';

/** The shared servers a record's processing depends on; their failure pauses partitions instead of dead-lettering. */
export type Infrastructure = 'registry' | 'object-store' | 'model' | 'broker' | 'watchdog';

export class PipelineError extends Error {
  override readonly name = 'PipelineError';
  constructor(
    readonly stage: Stage,
    readonly errorClass: ErrorClass,
    message: string,
    /** true: worth retrying (timeouts, throttling, resets); false: retrying cannot help. */
    readonly transient = false,
    options?: {
      cause?: unknown;
      /** Set when the failure, once retries are exhausted, is this infrastructure's and not the record's. */
      infrastructure?: Infrastructure;
    },
  ) {
    super(message, options);
    this.infrastructure = options?.infrastructure;
  }

  readonly infrastructure: Infrastructure | undefined;
}

/**
 * A PipelineError for a failure that is routine per record (an expired request) and carries no stack trace:
 * capturing one cost about half of skipping an expired record (bench/deadlines.ts), and a dead letter never
 * shows it.
 */
export function routineError(...args: ConstructorParameters<typeof PipelineError>): PipelineError {
  const limit = Error.stackTraceLimit;
  Error.stackTraceLimit = 0;
  try {
    return new PipelineError(...args);
  } finally {
    Error.stackTraceLimit = limit;
  }
}

/** Infrastructure is failing: the chunk is retried after a pause; no record of it is dead-lettered. */
export class SystemicError extends Error {
  override readonly name = 'SystemicError';
  constructor(readonly component: Infrastructure, message: string, options?: { cause?: unknown }) {
    super(message, options);
  }
}

/** The `code` a Node socket, DNS or file-system error carries ('ECONNRESET', 'ENOENT'), if any. */
export function errorCode(err: unknown): string | undefined {
  if (typeof err !== 'object' || err === null) return undefined;
  const code = (err as { code?: unknown }).code;
  return typeof code === 'string' ? code : undefined;
}

/** Wraps anything thrown into a PipelineError, keeping an existing classification. */
export function classify(err: unknown, stage: Stage, fallback: ErrorClass = 'InternalError'): PipelineError {
  if (err instanceof PipelineError) return err;
  const message = err instanceof Error ? err.message : String(err);
  return new PipelineError(stage, fallback, message, false, { cause: err });
}

/** The SystemicError a record failure with exhausted retries stands for, when its infrastructure is to blame. */
export function systemicOf(err: PipelineError): SystemicError | undefined {
  return err.infrastructure ? new SystemicError(err.infrastructure, `${err.infrastructure} unavailable: ${err.message}`, { cause: err }) : undefined;
}
