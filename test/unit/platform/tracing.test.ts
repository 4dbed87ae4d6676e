import avro from 'avsc';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { KafkaMessage } from 'kafkajs';
import { Histogram } from 'prom-client';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { ROOT_CONTEXT } from '@opentelemetry/api';
import { InMemorySpanExporter, SamplingDecision, SimpleSpanProcessor, TraceIdRatioBasedSampler, type ReadableSpan } from '@opentelemetry/sdk-trace-base';

import { startChunkSpans } from '../../../inference-consumers/service/batch-tracing.ts';
import type { BatchItem } from '../../../inference-consumers/service/process-batch.ts';
import { ConfigError, EnvReader } from '../../../platform/config.ts';
import { deadLetterRecords } from '../../../platform/dead-letter.ts';
import { PipelineError } from '../../../platform/errors.ts';
import { createMetricsRegistry, exemplarsFor, observeSeconds, scrape } from '../../../platform/metrics.ts';
import { loadSchema, type AvroSerde } from '../../../platform/schema-registry.ts';
import { newTraceparent, traceId } from '../../../platform/trace.ts';
import {
  activeTraceIds,
  contextFromTraceparent,
  DEFAULT_SAMPLER,
  newSpanId,
  readTracingSettings,
  sampledTraceId,
  SpanKind,
  spanTraceparent,
  startProcessSpan,
  startRootSpan,
  startSendSpan,
  startTracing,
  withSpan,
  type Tracing,
} from '../../../platform/tracing.ts';
import type { RoutedRequest } from '../../../router/routed-request.ts';

const settings = (env: Record<string, string>) => {
  const reader = new EnvReader(env);
  const s = readTracingSettings(reader, 'svc');
  reader.done();
  return s;
};

describe('tracing settings from the standard OTEL_* variables', () => {
  it('exports nothing unless an endpoint is named', () => {
    expect(settings({}).tracesUrl).toBeUndefined();
    expect(settings({ OTEL_SERVICE_NAME: 'x', OTEL_TRACES_SAMPLER: 'always_on' }).tracesUrl).toBeUndefined();
  });

  it('appends /v1/traces to the base endpoint; the traces endpoint is used as it is', () => {
    expect(settings({ OTEL_EXPORTER_OTLP_ENDPOINT: 'http://127.0.0.1:4318/' }).tracesUrl).toBe('http://127.0.0.1:4318/v1/traces');
    expect(settings({ OTEL_EXPORTER_OTLP_ENDPOINT: 'http://a:4318', OTEL_EXPORTER_OTLP_TRACES_ENDPOINT: 'http://b:9/t' }).tracesUrl).toBe('http://b:9/t');
  });

  it('is off with OTEL_SDK_DISABLED or OTEL_TRACES_EXPORTER=none, whatever the endpoint', () => {
    expect(settings({ OTEL_EXPORTER_OTLP_ENDPOINT: 'http://a:4318', OTEL_SDK_DISABLED: 'true' }).tracesUrl).toBeUndefined();
    expect(settings({ OTEL_EXPORTER_OTLP_ENDPOINT: 'http://a:4318', OTEL_TRACES_EXPORTER: 'none' }).tracesUrl).toBeUndefined();
  });

  it('names the service after OTEL_SERVICE_NAME or the service, and samples by the root unless told otherwise', () => {
    expect(settings({}).serviceName).toBe('svc');
    expect(settings({ OTEL_SERVICE_NAME: 'router-eu' }).serviceName).toBe('router-eu');
    expect(settings({}).sampler).toBe(DEFAULT_SAMPLER);
    expect(settings({ OTEL_TRACES_SAMPLER: 'parentbased_traceidratio', OTEL_TRACES_SAMPLER_ARG: '0.25' }).samplerRatio).toBe(0.25);
  });

  it('names each bad variable with the form it expects', () => {
    const reader = new EnvReader({ OTEL_TRACES_SAMPLER: 'sometimes', OTEL_EXPORTER_OTLP_ENDPOINT: 'udp://x', OTEL_SDK_DISABLED: 'maybe' });
    readTracingSettings(reader, 'svc');
    let problems: string[] = [];
    try {
      reader.done();
    } catch (err) {
      problems = (err as ConfigError).problems;
    }
    expect(problems.join('\n')).toMatch(/OTEL_TRACES_SAMPLER="sometimes": expected one of always_on/);
    expect(problems.join('\n')).toMatch(/OTEL_EXPORTER_OTLP_ENDPOINT="udp:\/\/x": expected a URL/);
    expect(problems.join('\n')).toMatch(/OTEL_SDK_DISABLED="maybe"/);
    const ratio = new EnvReader({ OTEL_TRACES_SAMPLER: 'traceidratio', OTEL_TRACES_SAMPLER_ARG: '2' });
    readTracingSettings(ratio, 'svc');
    expect(() => ratio.done()).toThrow(/OTEL_TRACES_SAMPLER_ARG="2": expected a number from 0 to 1/);
  });
});

describe('without tracing', () => {
  it('records nothing and leaves the traceparent to the caller', () => {
    const parent = newTraceparent();
    const span = startProcessSpan({ topic: 't', traceparent: parent });
    expect(span.isRecording()).toBe(false);
    expect(spanTraceparent(span)).toBeUndefined();
    withSpan(span, () => expect(activeTraceIds()).toEqual({}));
    expect(startChunkSpans([], [], { topic: 't', partition: 0, consumerGroup: 'g', model: 'm', version: 'v1' })).toBeUndefined();
  });
});

describe('with tracing', () => {
  let exporter: InMemorySpanExporter;
  let tracing: Tracing;
  beforeEach(() => {
    exporter = new InMemorySpanExporter();
    tracing = startTracing({ ...settings({}), sampler: 'parentbased_always_on' }, [new SimpleSpanProcessor(exporter)]);
  });
  afterEach(async () => {
    await tracing.shutdown();
  });
  const finished = (name: string): ReadableSpan[] => exporter.getFinishedSpans().filter((s) => s.name === name);
  const parentOf = (span: ReadableSpan) => span.parentSpanContext?.spanId;

  it('continues the record\'s trace, and the traceparent it writes is its send span\'s', () => {
    const inbound = newTraceparent();
    const process = startProcessSpan({ topic: 'images.requests', partition: 2, offset: '41', key: 'r1', traceparent: inbound });
    const send = withSpan(process, () => startSendSpan({ topic: 'images.requests.v1', key: 'r1' }));
    const written = spanTraceparent(send);
    send.end();
    process.end();
    const [p] = finished('process images.requests');
    const [s] = finished('send images.requests.v1');
    expect(p?.spanContext().traceId).toBe(traceId(inbound));
    expect(parentOf(p as ReadableSpan)).toBe(inbound.split('-')[2]);
    expect(parentOf(s as ReadableSpan)).toBe(p?.spanContext().spanId);
    expect(written).toBe(`00-${traceId(inbound)}-${s?.spanContext().spanId}-01`);
    expect(p?.attributes).toMatchObject({
      'messaging.system': 'kafka', 'messaging.operation.type': 'process', 'messaging.destination.name': 'images.requests',
      'messaging.destination.partition.id': '2', 'messaging.kafka.offset': 41, 'messaging.kafka.message.key': 'r1',
    });
    expect(s?.attributes['messaging.operation.type']).toBe('send');
  });

  it('gives log lines and exemplars the active span\'s ids', () => {
    const span = startProcessSpan({ topic: 't', traceparent: newTraceparent() });
    const ids = withSpan(span, () => activeTraceIds());
    expect(ids).toEqual({ trace_id: span.spanContext().traceId, span_id: span.spanContext().spanId });
    span.end();
  });

  it('a dead letter continues the failed record\'s trace with a failed send span', async () => {
    const type = avro.Type.forSchema(JSON.parse(loadSchema('DeadLetter')) as avro.Schema);
    const serde = { encode: async (_t: string, _n: string, v: unknown) => type.toBuffer(v) } as unknown as AvroSerde;
    const inbound = newTraceparent();
    const message: KafkaMessage = { key: Buffer.from('r1'), value: Buffer.from('x'), offset: '3', timestamp: '0', attributes: 0, headers: { traceparent: inbound } };
    const [record] = await deadLetterRecords(
      [{ topic: 'in', partition: 0, message, error: new PipelineError('fetch', 'NotFound', 'no such object') }],
      { serde, topic: 'images.dlq', service: 'svc', limits: { maxValueBytes: 1_000 } },
    );
    const [span] = finished('send images.dlq');
    expect(parentOf(span as ReadableSpan)).toBe(inbound.split('-')[2]);
    expect(span?.status.code).toBe(2);
    expect(span?.attributes).toMatchObject({ 'error.type': 'NotFound', 'imgpipe.dlq.stage': 'fetch' });
    expect(record?.headers?.traceparent).toBe(`00-${traceId(inbound)}-${span?.spanContext().spanId}-01`);
  });

  it('a chunk span links to every request; each request span has its own stages and the shared model call', async () => {
    const messages: KafkaMessage[] = [0, 1, 2].map((i) => ({
      key: Buffer.from(`r${i}`), value: Buffer.from('x'), offset: String(10 + i), timestamp: '0', attributes: 0,
      headers: { traceparent: newTraceparent(), 'x-request-id': `r${i}` },
    }));
    const items: BatchItem[] = messages.map((message) => ({ message, request: { uri: 'file:///x.png' } as RoutedRequest }));
    const spans = startChunkSpans(messages, messages, { topic: 'images.requests.v1', partition: 0, consumerGroup: 'images.inference-v1', model: 'fashion-mnist', version: 'v1' });
    if (!spans) throw new Error('tracing is on: chunk spans expected');
    for (const item of items) {
      await spans.stage(item, 'fetch', async () => undefined);
      await spans.stage(item, 'preprocess', async () => undefined);
    }
    await spans.modelCall(items.slice(0, 2), async () => undefined);
    spans.end(new Map([[messages[2] as KafkaMessage, new PipelineError('preprocess', 'NotAnImage', 'bad bytes')]]));

    const [chunk] = finished('process images.requests.v1').filter((s) => s.links.length > 0 && s.attributes['messaging.batch.message_count'] === 3);
    if (!chunk) throw new Error('no chunk span');
    expect(chunk.links.map((l) => l.context.traceId)).toEqual(messages.map((m) => traceId(String(m.headers?.traceparent))));
    const requests = finished('process images.requests.v1').filter((s) => s !== chunk);
    expect(requests).toHaveLength(3);
    for (const [i, request] of requests.entries()) {
      const inbound = String(messages[i]?.headers?.traceparent);
      expect(request.spanContext().traceId).toBe(traceId(inbound));
      expect(parentOf(request)).toBe(inbound.split('-')[2]);
      expect(request.links[0]?.context.spanId).toBe(chunk.spanContext().spanId);
      const children = exporter.getFinishedSpans().filter((s) => parentOf(s) === request.spanContext().spanId).map((s) => s.name);
      expect(children.sort()).toEqual(i < 2 ? ['fetch', 'inference fashion-mnist', 'preprocess'] : ['fetch', 'preprocess']);
    }
    expect(requests[2]?.status.code).toBe(2);
    expect(requests[2]?.attributes['error.type']).toBe('NotAnImage');
    const model = finished('inference fashion-mnist').find((s) => parentOf(s) === chunk.spanContext().spanId);
    expect(model?.attributes['imgpipe.batch_size']).toBe(2);
    const shared = finished('inference fashion-mnist').filter((s) => s !== model);
    expect(shared.every((s) => s.links[0]?.context.spanId === model?.spanContext().spanId)).toBe(true);
  });

  it('latency exemplars carry the trace id, shown only to an OpenMetrics scraper', async () => {
    const registry = createMetricsRegistry('svc');
    const histogram = new Histogram({ name: 'x_duration_seconds', help: 'h', labelNames: ['route'], buckets: [0.1, 1], ...exemplarsFor(registry), registers: [registry] });
    const span = startProcessSpan({ topic: 't', traceparent: newTraceparent() });
    withSpan(span, () => observeSeconds(histogram, { route: '/a' }, 0.05));
    span.end();
    observeSeconds(histogram, { route: '/a' }, 0.5);
    // A request's span given after it ended (the consumer observes once the transaction is acknowledged).
    const request = startProcessSpan({ topic: 't', traceparent: newTraceparent() });
    request.end();
    observeSeconds(histogram, { route: '/b' }, 2, request);
    const open = await scrape(registry, 'application/openmetrics-text;version=1.0.0,text/plain;version=0.0.4;q=0.5');
    expect(open.contentType).toMatch(/^application\/openmetrics-text/);
    expect(open.body).toMatch(new RegExp(`x_duration_seconds_bucket\\{le="0.1",[^}]*\\} 1 # \\{trace_id="${span.spanContext().traceId}"\\} 0.05 `));
    // The observation outside a span counts without an exemplar.
    expect(open.body).toMatch(/x_duration_seconds_bucket\{le="1",[^}]*\} 2\n/);
    expect(open.body).toMatch(new RegExp(`x_duration_seconds_bucket\\{le="\\+Inf",[^}]*route="/b"[^}]*\\} 1 # \\{trace_id="${request.spanContext().traceId}"\\} 2 `));
    expect(open.body).toContain('process_cpu_seconds_total{service="svc"}');
    expect(open.body.endsWith('# EOF\n')).toBe(true);
    const plain = await scrape(registry, undefined);
    expect(plain.contentType).toMatch(/^text\/plain/);
    expect(plain.body).toMatch(/x_duration_seconds_bucket\{le="0.1",[^}]*\} 1\n/);
    expect(plain.body).not.toContain('trace_id');
  });

  it('a record without a traceparent starts a new trace', () => {
    const span = startProcessSpan({ topic: 't', traceparent: undefined });
    expect(span.isRecording()).toBe(true);
    expect(contextFromTraceparent('garbage')).toBeDefined();
    span.end();
    expect(parentOf(finished('process t')[0] as ReadableSpan)).toBeUndefined();
  });
});

describe('a service exporting OTLP', () => {
  it('exports its spans and none of those it warmed its export path with', async () => {
    const bodies: Buffer[] = [];
    const server = createServer((req, res) => {
      const chunks: Buffer[] = [];
      req.on('data', (c: Buffer) => chunks.push(c));
      req.on('end', () => {
        bodies.push(Buffer.concat(chunks));
        res.writeHead(200, { 'content-type': 'application/x-protobuf' }).end();
      });
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    try {
      const { port } = server.address() as AddressInfo;
      const tracing = startTracing({ ...settings({}), tracesUrl: `http://127.0.0.1:${port}/v1/traces`, sampler: 'always_on' });
      startSendSpan({ topic: 'exported-topic' }).end();
      await tracing.shutdown();
      const sent = Buffer.concat(bodies).toString('latin1');
      expect(sent).toContain('send exported-topic');
      expect(sent).not.toContain('warm-up');
    } finally {
      server.close();
    }
  });
});

describe('span ids of unsampled children', () => {
  it('are 16 lowercase hex digits, distinct across refills of the random pool', () => {
    const ids = Array.from({ length: 5_000 }, () => newSpanId());
    expect(ids.every((id) => /^[0-9a-f]{16}$/.test(id) && id !== '0'.repeat(16))).toBe(true);
    expect(new Set(ids).size).toBe(ids.length);
    // Every hex digit turns up in every position: the bytes are used whole, not truncated.
    for (let position = 0; position < 16; position += 1) expect(new Set(ids.map((id) => id[position])).size).toBe(16);
  });
});

describe('children of unsampled records', () => {
  const unsampled = () => newTraceparent().replace(/-01$/, '-00');
  const start = (sampler: 'parentbased_traceidratio' | 'always_on') => {
    const exporter = new InMemorySpanExporter();
    const tracing = startTracing({ ...settings({}), sampler, samplerRatio: 1 }, [new SimpleSpanProcessor(exporter)]);
    return { exporter, tracing };
  };

  it('under a parent-based sampler stay in the record\'s trace, unsampled, each with its own span id, and record nothing', async () => {
    const { exporter, tracing } = start('parentbased_traceidratio');
    try {
      const inbound = unsampled();
      const process = startProcessSpan({ topic: 't', consumerGroup: 'g', traceparent: inbound });
      const send = startSendSpan({ topic: 'u', key: 'k' }, process);
      const written = spanTraceparent(send);
      expect([process.isRecording(), send.isRecording()]).toEqual([false, false]);
      expect(written).toMatch(new RegExp(`^00-${traceId(inbound)}-[0-9a-f]{16}-00$`));
      const spanIds = [inbound.split('-')[2], process.spanContext().spanId, send.spanContext().spanId];
      expect(new Set(spanIds).size).toBe(3);
      expect(send.spanContext()).toMatchObject({ traceId: traceId(inbound), traceFlags: 0 });
      expect(written).toBe(`00-${traceId(inbound)}-${send.spanContext().spanId}-00`);
      expect(sampledTraceId(send)).toBeUndefined();
      // A sampled record is still recorded, and so is a new trace (ratio 1 here) in place of an invalid traceparent.
      const sampled = startProcessSpan({ topic: 't', traceparent: newTraceparent() });
      startSendSpan({ topic: 'u' }, sampled).end();
      sampled.end();
      const invalid = startProcessSpan({ topic: 'z', traceparent: `00-${'0'.repeat(32)}-${'1'.repeat(16)}-00` });
      expect(invalid.spanContext().traceId).not.toBe('0'.repeat(32));
      invalid.end();
      send.end();
      process.end();
      expect(exporter.getFinishedSpans().map((s) => s.name)).toEqual(['send u', 'process t', 'process z']);
    } finally {
      await tracing.shutdown();
    }
  });

  it('are linked from a sampled chunk span by their own trace and span ids', async () => {
    const { exporter, tracing } = start('parentbased_traceidratio');
    try {
      const messages: KafkaMessage[] = [0, 1].map((i) => ({ key: null, value: null, offset: String(i), timestamp: '0', attributes: 0, headers: { traceparent: unsampled() } }));
      startChunkSpans(messages, messages, { topic: 't', partition: 0, consumerGroup: 'g', model: 'm', version: 'v1' })?.end(new Map());
      const [chunk] = exporter.getFinishedSpans();
      expect(chunk?.links.map((l) => `00-${l.context.traceId}-${l.context.spanId}-0${l.context.traceFlags}`)).toEqual(messages.map((m) => m.headers?.traceparent));
    } finally {
      await tracing.shutdown();
    }
  });

  it('are not read for the links of a chunk span the sampler drops', async () => {
    const exporter = new InMemorySpanExporter();
    const tracing = startTracing({ ...settings({}), sampler: 'parentbased_traceidratio', samplerRatio: 0 }, [new SimpleSpanProcessor(exporter)]);
    try {
      let reads = 0;
      // A record that could not be decoded: only the chunk's links would read its headers.
      const record = { key: null, value: null, offset: '0', timestamp: '0', attributes: 0, get headers() { reads += 1; return { traceparent: unsampled() }; } } as KafkaMessage;
      startChunkSpans([record], [], { topic: 't', partition: 0, consumerGroup: 'g', model: 'm', version: 'v1' })?.end(new Map());
      expect(reads).toBe(0);
      expect(exporter.getFinishedSpans()).toHaveLength(0);
    } finally {
      await tracing.shutdown();
    }
  });

  it('new traces are kept by the ratio alone, each kept one recorded in the trace the ratio kept', async () => {
    const exporter = new InMemorySpanExporter();
    const half = startTracing({ ...settings({}), sampler: 'parentbased_traceidratio', samplerRatio: 0.5 }, [new SimpleSpanProcessor(exporter)]);
    try {
      const roots = Array.from({ length: 200 }, () => startRootSpan('chunk', SpanKind.CONSUMER));
      const ratio = new TraceIdRatioBasedSampler(0.5);
      const kept = roots.filter((r) => ratio.shouldSample(ROOT_CONTEXT, r.spanContext().traceId).decision === SamplingDecision.RECORD_AND_SAMPLED);
      expect(roots.map((r) => r.isRecording())).toEqual(roots.map((r) => kept.includes(r)));
      expect(kept.length).toBeGreaterThan(50);
      expect(kept.length).toBeLessThan(150);
      for (const r of roots) expect(spanTraceparent(r)).toMatch(new RegExp(`^00-${r.spanContext().traceId}-[0-9a-f]{16}-0${r.isRecording() ? 1 : 0}$`));
      for (const r of roots) r.end();
      expect(exporter.getFinishedSpans().map((s) => s.spanContext().traceId)).toEqual(kept.map((r) => r.spanContext().traceId));
    } finally {
      await half.shutdown();
    }
  });

  it('under a sampler that ignores the parent are the SDK\'s to decide', async () => {
    const { exporter, tracing } = start('always_on');
    try {
      const process = startProcessSpan({ topic: 't', traceparent: unsampled() });
      expect(process.isRecording()).toBe(true);
      process.end();
      expect(exporter.getFinishedSpans()).toHaveLength(1);
    } finally {
      await tracing.shutdown();
    }
  });
});
