import { randomBytes, randomFillSync } from 'node:crypto';

/** W3C trace-context header carried on every record so one image can be followed end to end. */
export const TRACEPARENT = 'traceparent';

const PATTERN = /^00-([0-9a-f]{32})-([0-9a-f]{16})-([0-9a-f]{2})$/;
const INVALID_SPAN_ID = '0000000000000000';

const HEX_BYTES = Array.from({ length: 256 }, (_, i) => i.toString(16).padStart(2, '0'));
const idBytes = Buffer.alloc(8 * 512);
let idBytesAt = idBytes.length;

/**
 * A random span id (16 hex digits, never all zero) from a pool of random bytes: the OpenTelemetry SDK's generator,
 * one Math.random call per byte, and a randomBytes call per id both showed in the services' profiles
 * (bench/tracing-cost.ts --profile).
 */
export function newSpanId(): string {
  if (idBytesAt + 8 > idBytes.length) {
    randomFillSync(idBytes);
    idBytesAt = 0;
  }
  let id = '';
  for (let i = idBytesAt; i < idBytesAt + 8; i += 1) id += HEX_BYTES[idBytes[i] as number];
  idBytesAt += 8;
  return id === INVALID_SPAN_ID ? newSpanId() : id;
}

/** A random trace id: two pooled span ids, so never all zero. */
export function newTraceId(): string {
  return `${newSpanId()}${newSpanId()}`;
}

export function newTraceparent(): string {
  return `00-${randomBytes(16).toString('hex')}-${randomBytes(8).toString('hex')}-01`;
}

/** The same trace with a new span id: what a service puts on the records it produces from one it consumed. */
export function childTraceparent(parent: string | undefined): string {
  if (parent === undefined || !PATTERN.test(parent)) return newTraceparent();
  return `${parent.slice(0, 36)}${newSpanId()}${parent.slice(52)}`;
}

export function traceId(traceparent: string | undefined): string | undefined {
  return traceparent ? PATTERN.exec(traceparent)?.[1] : undefined;
}
