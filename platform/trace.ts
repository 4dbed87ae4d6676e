import { randomBytes } from 'node:crypto';

/** W3C trace-context header carried on every record so one image can be followed end to end. */
export const TRACEPARENT = 'traceparent';

const PATTERN = /^00-([0-9a-f]{32})-([0-9a-f]{16})-([0-9a-f]{2})$/;

export function newTraceparent(): string {
  return `00-${randomBytes(16).toString('hex')}-${randomBytes(8).toString('hex')}-01`;
}

/** The same trace with a new span id: what a service puts on the records it produces from one it consumed. */
export function childTraceparent(parent: string | undefined): string {
  const match = parent ? PATTERN.exec(parent) : null;
  if (!match) return newTraceparent();
  return `00-${match[1]}-${randomBytes(8).toString('hex')}-${match[3]}`;
}

export function traceId(traceparent: string | undefined): string | undefined {
  return traceparent ? PATTERN.exec(traceparent)?.[1] : undefined;
}
