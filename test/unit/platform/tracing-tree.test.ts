import { describe, expect, it } from 'vitest';
import { traceTree, type JaegerSpan, type JaegerTrace } from '../../../stack/jaeger/trace-tree.ts';

const span = (spanID: string, operationName: string, startMs: number, durationMs: number, refs: JaegerSpan['references'] = [], processID = 'p1', failed = false): JaegerSpan => ({
  traceID: 't1', spanID, operationName, references: refs, startTime: 1_000_000 + startMs * 1000, duration: durationMs * 1000,
  tags: failed ? [{ key: 'otel.status_code', value: 'ERROR' }] : [], processID,
});

describe('a Jaeger trace as a waterfall', () => {
  it('puts each span under its parent in start order, with offsets, durations, services, links and failures', () => {
    const trace: JaegerTrace = {
      traceID: 't1',
      processes: { p1: { serviceName: 'gateway' }, p2: { serviceName: 'inference' } },
      spans: [
        span('c2', 'process images.requests.v1', 300, 50, [{ refType: 'CHILD_OF', traceID: 't1', spanID: 'c1' }, { refType: 'FOLLOWS_FROM', traceID: 't9', spanID: 'k1' }], 'p2', true),
        span('r', 'POST /infer', 0, 400, [{ refType: 'CHILD_OF', traceID: 't1', spanID: 'client' }]),
        span('c1', 'send images.requests', 10, 5, [{ refType: 'CHILD_OF', traceID: 't1', spanID: 'r' }]),
      ],
    };
    expect(traceTree(trace)).toEqual([
      'trace t1: 400 ms, 3 spans, 2 services',
      '   0.0 ms    400 ms  gateway    POST /infer',
      '    10 ms    5.0 ms  gateway      send images.requests',
      '   300 ms     50 ms  inference      process images.requests.v1  FAILED',
      `${' '.repeat(38)}↪ links to span k1 of trace t9`,
    ]);
  });
});
