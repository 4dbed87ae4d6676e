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

export const serviceOf = (t: JaegerTrace, span: JaegerSpan): string => t.processes[span.processID]?.serviceName ?? '?';

export interface WaterfallRow {
  span: JaegerSpan;
  /** Ancestors shown above it. */
  depth: number;
  service: string;
  /** Microseconds after the trace's first span started. */
  offset: number;
  failed: boolean;
  /** The spans it links to (FOLLOWS_FROM), e.g. a consumer's chunk span. */
  links: { traceID: string; spanID: string }[];
}

export interface Waterfall {
  traceID: string;
  /** Microseconds from the first span's start to the last span's end. */
  total: number;
  /** In order of first appearance. */
  services: string[];
  rows: WaterfallRow[];
}

/** Pure: the spans in display order, children in start order under their parent; a span whose parent is absent is a root. */
export function waterfall(t: JaegerTrace): Waterfall {
  const ids = new Set(t.spans.map((s) => s.spanID));
  const byStart = [...t.spans].sort((a, b) => a.startTime - b.startTime);
  const origin = byStart[0]?.startTime ?? 0;
  const rows: WaterfallRow[] = [];
  const visit = (span: JaegerSpan, depth: number): void => {
    rows.push({
      span, depth, service: serviceOf(t, span), offset: span.startTime - origin,
      failed: span.tags.some((tag) => tag.key === 'otel.status_code' && tag.value === 'ERROR'),
      links: span.references.filter((r) => r.refType === 'FOLLOWS_FROM').map(({ traceID, spanID }) => ({ traceID, spanID })),
    });
    for (const child of byStart.filter((s) => parentOf(s) === span.spanID)) visit(child, depth + 1);
  };
  for (const root of byStart.filter((s) => !ids.has(parentOf(s) ?? ''))) visit(root, 0);
  return {
    traceID: t.traceID,
    total: Math.max(0, ...t.spans.map((s) => s.startTime + s.duration - origin)),
    services: [...new Set(rows.map((r) => r.service))],
    rows,
  };
}

/** Pure: the waterfall's lines. */
export function traceTree(t: JaegerTrace): string[] {
  const w = waterfall(t);
  const lines = [`trace ${t.traceID}: ${ms(w.total)}, ${t.spans.length} spans, ${w.services.length} services`];
  const width = Math.max(...w.services.map((s) => s.length));
  for (const row of w.rows) {
    const indent = '  '.repeat(row.depth);
    lines.push(`${ms(row.offset).padStart(9)} ${ms(row.span.duration).padStart(9)}  ${row.service.padEnd(width)}  ${indent}${row.span.operationName}${row.failed ? '  FAILED' : ''}`);
    for (const link of row.links) lines.push(`${''.padStart(21)}${''.padEnd(width)}  ${indent}  ↪ links to span ${link.spanID} of trace ${link.traceID}`);
  }
  return lines;
}
