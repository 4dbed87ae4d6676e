/**
 * One trace from Jaeger's query API (GET /api/traces/<id>) as a terminal waterfall: each span under its parent,
 * with its service, its start after the trace's first span and its duration, and the spans it links to. The Jaeger
 * built from the Go module proxy serves the query API but not the UI (its web assets are built from another
 * repository), so this is how a trace is read on a machine with the local stack.
 */

export interface JaegerSpan {
  traceID: string;
  spanID: string;
  operationName: string;
  references: { refType: 'CHILD_OF' | 'FOLLOWS_FROM'; traceID: string; spanID: string }[];
  /** Microseconds since the epoch. */
  startTime: number;
  /** Microseconds. */
  duration: number;
  tags: { key: string; value: unknown }[];
  processID: string;
}

export interface JaegerTrace {
  traceID: string;
  spans: JaegerSpan[];
  processes: Record<string, { serviceName: string }>;
}

export const parentOf = (span: JaegerSpan): string | undefined => span.references.find((r) => r.refType === 'CHILD_OF')?.spanID;

const ms = (micros: number): string => `${(micros / 1000).toFixed(micros < 10_000 ? 1 : 0)} ms`;

/** Pure: the waterfall's lines, children in start order under their parent; a span whose parent is absent is a root. */
export function traceTree(t: JaegerTrace): string[] {
  const ids = new Set(t.spans.map((s) => s.spanID));
  const byStart = [...t.spans].sort((a, b) => a.startTime - b.startTime);
  const origin = byStart[0]?.startTime ?? 0;
  const last = Math.max(...t.spans.map((s) => s.startTime + s.duration));
  const services = new Set(t.spans.map((s) => t.processes[s.processID]?.serviceName ?? '?'));
  const lines = [`trace ${t.traceID}: ${ms(last - origin)}, ${t.spans.length} spans, ${services.size} services`];
  const width = Math.max(...[...services].map((s) => s.length));
  const visit = (span: JaegerSpan, depth: number): void => {
    const service = (t.processes[span.processID]?.serviceName ?? '?').padEnd(width);
    const failed = span.tags.some((tag) => tag.key === 'otel.status_code' && tag.value === 'ERROR') ? '  FAILED' : '';
    lines.push(`${ms(span.startTime - origin).padStart(9)} ${ms(span.duration).padStart(9)}  ${service}  ${'  '.repeat(depth)}${span.operationName}${failed}`);
    for (const link of span.references.filter((r) => r.refType === 'FOLLOWS_FROM')) {
      lines.push(`${''.padStart(21)}${''.padEnd(width)}  ${'  '.repeat(depth + 1)}↪ links to span ${link.spanID} of trace ${link.traceID}`);
    }
    for (const child of byStart.filter((s) => parentOf(s) === span.spanID)) visit(child, depth + 1);
  };
  for (const root of byStart.filter((s) => !ids.has(parentOf(s) ?? ''))) visit(root, 0);
  return lines;
}
