import { describe, expect, it } from 'vitest';
import { SERVICE_COLOURS, tickStep, tracePage } from '../../../stack/jaeger/trace-page.ts';
import type { JaegerSpan, JaegerTrace } from '../../../stack/jaeger/trace-tree.ts';

const span = (spanID: string, operationName: string, startMs: number, durationMs: number, refs: JaegerSpan['references'] = [], processID = 'p1', tags: JaegerSpan['tags'] = []): JaegerSpan => ({
  traceID: 't1', spanID, operationName, references: refs, startTime: 1_000_000 + startMs * 1000, duration: durationMs * 1000, tags, processID,
});

const trace: JaegerTrace = {
  traceID: 't1',
  processes: { p1: { serviceName: 'gateway' }, p2: { serviceName: 'inference' } },
  spans: [
    span('c2', 'process <v1>', 300, 50, [
      { refType: 'CHILD_OF', traceID: 't1', spanID: 'c1' },
      { refType: 'FOLLOWS_FROM', traceID: 't9', spanID: 'k1' },
      { refType: 'FOLLOWS_FROM', traceID: 't1', spanID: 'c1' },
    ], 'p2', [{ key: 'otel.status_code', value: 'ERROR' }, { key: 'error.type', value: 'NotAnImage' }, { key: 'messaging.consumer.group.name', value: 'images.inference-v1' }]),
    span('r', 'POST /infer', 0, 400, [{ refType: 'CHILD_OF', traceID: 't1', spanID: 'client' }]),
    span('c1', 'send images.requests', 100, 5, [{ refType: 'CHILD_OF', traceID: 't1', spanID: 'r' }]),
  ],
};

const page = tracePage(trace, { queryUrl: 'http://127.0.0.1:16686' });
/** Each span row's id, bar style and duration label, in page order. */
const rows = [...page.matchAll(/<div class="row( failed)?" id="span-([^"]+)">[\s\S]*?<div class="bar" style="([^"]+)"><\/div>\s*<span class="dur[^"]*"[^>]*>([^<]+)</g)]
  .map((m) => ({ id: m[2], failed: m[1] !== undefined, bar: m[3], duration: m[4] }));

describe('a Jaeger trace as an HTML waterfall', () => {
  it('draws a bar per span under its parent, placed and sized by its start and duration in the trace', () => {
    expect(rows.map((r) => r.id)).toEqual(['r', 'c1', 'c2']);
    expect(rows.map((r) => r.duration)).toEqual(['400 ms', '5.0 ms', '50 ms']);
    expect(rows[0]?.bar).toMatch(/^left:0\.000%;width:100\.000%;/);
    expect(rows[1]?.bar).toMatch(/^left:25\.000%;width:1\.250%;/);
    expect(rows[2]?.bar).toMatch(/^left:75\.000%;width:12\.500%;/);
    expect(page).toContain('400 ms · 3 spans · 2 services');
  });

  it('gives each service its colour, and a failed span the failure colour and its error', () => {
    expect(rows[0]?.bar).toContain(`background:${SERVICE_COLOURS[0]}`);
    expect(rows[1]?.bar).toContain(`background:${SERVICE_COLOURS[0]}`);
    expect(rows[2]?.failed).toBe(true);
    expect(rows[2]?.bar).not.toContain(SERVICE_COLOURS[1]);
    expect(page).toMatch(new RegExp(`<span class="chip" style="background:${SERVICE_COLOURS[1]}"></span>inference`));
    expect(page).toContain('<span class="tag">error NotAnImage</span>');
    expect(page).toContain('<span class="tag">group images.inference-v1</span>');
  });

  it('links a span link to the span in this trace, or to the other trace in the query API', () => {
    expect(page).toContain('<a href="http://127.0.0.1:16686/api/traces/t9">span k1 of trace t9…</a>');
    expect(page).toContain('<a href="#span-c1">span c1 of trace t1…</a>');
  });

  it('escapes what the spans say', () => {
    expect(page).toContain('process &lt;v1&gt;');
    expect(page).not.toContain('<v1>');
  });

  it('marks the time axis in round steps', () => {
    expect([tickStep(400_000), tickStep(48_000), tickStep(7_000), tickStep(0)]).toEqual([100_000, 10_000, 2_000, 1]);
    expect(page).toMatch(/<span style="left:25\.000%">100 ms<\/span>/);
  });
});
