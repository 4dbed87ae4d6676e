/**
 * The start-up warm-up of the tracing code a service records with (platform/tracing.ts calls it when it exports).
 * `extract` is tracing.ts' propagator, so its code is warmed too.
 */
import { ROOT_CONTEXT, SpanKind, trace, type Context, type Link } from '@opentelemetry/api';
import { ProtobufTraceSerializer } from '@opentelemetry/otlp-transformer';
import type { Resource } from '@opentelemetry/resources';
import { AlwaysOnSampler, BasicTracerProvider, type ReadableSpan } from '@opentelemetry/sdk-trace-node';

import { messagingAttributes, messagingSpanName } from './messaging-spans.ts';
import { newSpanId, newTraceId } from './trace.ts';

/** The records whose spans warmUpRecording makes: 2,000 spans, about the first minute of a busy router at 1 %. */
const WARM_UP_RECORDS = 500;
/** The BatchSpanProcessor's default export batch (OTEL_BSP_MAX_EXPORT_BATCH_SIZE). */
const EXPORT_BATCH = 512;

/**
 * Recorded spans are rare under the default sampler (1 % of records), too rare for V8 to compile and optimise the
 * SDK's span code and the OTLP serialiser for a long while after a service starts: in a service's first seconds a
 * recorded span cost about ten times what it costs with every record sampled (bench/tracing-cost.ts --profile). So
 * a service first makes spans shaped like its own (a continued process span with messaging attributes, its stages
 * and send, a chunk span linking 32 records) in a provider of its own that keeps them in memory, and serialises them
 * as the exporter would, once at start. None of them is exported.
 */
export function warmUpRecording(resource: Resource, tracerName: string, extract: (traceparent: string) => Context): void {
  const spans: ReadableSpan[] = [];
  const provider = new BasicTracerProvider({
    resource,
    sampler: new AlwaysOnSampler(),
    spanProcessors: [{ onStart: () => {}, onEnd: (span) => void spans.push(span), forceFlush: async () => {}, shutdown: async () => {} }],
  });
  const warm = provider.getTracer(tracerName);
  let links: Link[] = [];
  for (let i = 0; i < WARM_UP_RECORDS; i += 1) {
    const m = { topic: 'warm-up', partition: 0, offset: String(i), key: 'warm-up', consumerGroup: 'warm-up' };
    const inbound = extract(`00-${newTraceId()}-${newSpanId()}-01`);
    const process = warm.startSpan(messagingSpanName('process', m.topic), { kind: SpanKind.CONSUMER, attributes: messagingAttributes('process', m) }, inbound);
    const parent = trace.setSpan(ROOT_CONTEXT, process);
    warm.startSpan('fetch', { kind: SpanKind.CLIENT, attributes: { 'url.scheme': 'file' } }, parent).end();
    warm.startSpan('inference warm-up', { startTime: Date.now(), links: [{ context: process.spanContext() }], attributes: { 'imgpipe.batch_size': 32 } }, parent).end(Date.now());
    warm.startSpan(messagingSpanName('send', m.topic), { kind: SpanKind.PRODUCER, attributes: messagingAttributes('send', m) }, parent).end();
    process.end();
    links.push({ context: process.spanContext(), attributes: { 'messaging.kafka.offset': i } });
    if (links.length === 32) {
      const chunk = warm.startSpan(messagingSpanName('process', m.topic), { kind: SpanKind.CONSUMER }, ROOT_CONTEXT);
      chunk.setAttributes(messagingAttributes('process', { ...m, batchSize: links.length }));
      chunk.addLinks(links);
      chunk.end();
      links = [];
    }
  }
  for (let i = 0; i < spans.length; i += EXPORT_BATCH) ProtobufTraceSerializer.serializeRequest(spans.slice(i, i + EXPORT_BATCH));
  void provider.shutdown();
}
