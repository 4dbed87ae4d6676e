import { pino, type Logger } from 'pino';

import { activeTraceIds } from './tracing.ts';

export type { Logger };

/** Paths that may carry secrets; pino replaces their values before a line is written. */
const REDACT = [
  'password', '*.password', 'secretAccessKey', '*.secretAccessKey', 'authorization', '*.authorization',
  'headers.authorization', 'sasl', '*.sasl',
];

/** Services log to stdout; tools whose stdout is their result (benchmarks) pass `toStderr`. */
export function createLogger(service: string, level = process.env.LOG_LEVEL ?? 'info', toStderr = false): Logger {
  return pino({
    name: service,
    level,
    base: { service, pid: process.pid },
    redact: { paths: REDACT, censor: '[redacted]' },
    timestamp: pino.stdTimeFunctions.isoTime,
    // A line written inside a span names it, so a trace leads to its logs and a log line to its trace.
    mixin: activeTraceIds,
  }, pino.destination(toStderr ? 2 : 1));
}
