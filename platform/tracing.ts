/**
 * OpenTelemetry tracing for every service (issue 19). Spans are recorded and exported over OTLP/HTTP (protobuf)
 * only when the standard OTEL_* variables name an endpoint; otherwise the API's no-op tracer answers every call
 * and the `traceparent` headers are still carried on as before (platform/trace.ts), so an untraced deployment pays
 * for a few no-op calls per record and nothing else.
 *
 * Kafka spans follow the OpenTelemetry messaging conventions: a producer span per send ("send <topic>"), a consumer
 * span per record processed ("process <topic>") continuing the trace of the record's `traceparent`, and a batch
 * span that links to every record in the batch. The traceparent a service writes on an output record is its own
 * send span's, so the next hop's span is that span's child.
 */
import {
  context,
  INVALID_SPANID,
  INVALID_TRACEID,
  isSpanContextValid,
  ROOT_CONTEXT,
  SpanKind,
  SpanStatusCode,
  trace,
  TraceFlags,
  type Attributes,
  type Context,
  type Link,
  type Span,
  type SpanContext,
  type SpanOptions,
  type Tracer,
} from '@opentelemetry/api';
import type { IncomingMessage } from 'node:http';

import { AsyncLocalStorageContextManager } from '@opentelemetry/context-async-hooks';
import { W3CTraceContextPropagator } from '@opentelemetry/core';
import { OTLPTraceExporter } from '@opentelemetry/exporter-trace-otlp-proto';
import { detectResources, envDetector, resourceFromAttributes } from '@opentelemetry/resources';
import {
  AlwaysOffSampler,
  AlwaysOnSampler,
  BatchSpanProcessor,
  NodeTracerProvider,
  ParentBasedSampler,
  SamplingDecision,
  TraceIdRatioBasedSampler,
  type Sampler,
  type SpanProcessor,
} from '@opentelemetry/sdk-trace-node';
import { ATTR_SERVICE_NAME } from '@opentelemetry/semantic-conventions';

import type { EnvReader } from './config.ts';
import { messagingAttributes, messagingSpanName, type KafkaMessage } from './messaging-spans.ts';
import { UNSAMPLED_TRACEPARENT, UnsampledSpan } from './unsampled-span.ts';
import { newSpanId, newTraceId, TRACEPARENT } from './trace.ts';
import { warmUpRecording } from './tracing-warm-up.ts';

export { newSpanId, SpanKind, SpanStatusCode, type Attributes, type Context, type Link, type Span };

export const SAMPLERS = [
  'always_on',
  'always_off',
  'traceidratio',
  'parentbased_always_on',
  'parentbased_always_off',
  'parentbased_traceidratio',
] as const;
export type SamplerName = (typeof SAMPLERS)[number];

/**
 * Without OTEL_TRACES_SAMPLER a trace root is kept with this probability and every later hop follows the root's
 * decision: 1 % of 2,000 images/s is still 20 traces a second. The SDK's own default (parentbased_always_on) records
 * every record at every hop, half again the router's and consumer's CPU per image (bench/tracing-cost.ts); set it
 * explicitly to trace everything.
 */
export const DEFAULT_SAMPLER: SamplerName = 'parentbased_traceidratio';
export const DEFAULT_SAMPLER_RATIO = 0.01;

export interface TracingSettings {
  /** The OTLP/HTTP traces URL (…/v1/traces); undefined: nothing is recorded or exported. */
  tracesUrl: string | undefined;
  serviceName: string;
  sampler: SamplerName;
  samplerRatio: number;
}

/**
 * OTEL_EXPORTER_OTLP_TRACES_ENDPOINT is the full URL; OTEL_EXPORTER_OTLP_ENDPOINT is a base that gets /v1/traces
 * (as the OpenTelemetry exporter specification says). OTEL_SDK_DISABLED=true or OTEL_TRACES_EXPORTER=none turn
 * tracing off whatever else is set.
 */
export function readTracingSettings(env: EnvReader, service: string): TracingSettings {
  const disabled = env.bool('OTEL_SDK_DISABLED', false);
  const exporter = env.oneOf('OTEL_TRACES_EXPORTER', ['otlp', 'none'] as const, 'otlp');
  const tracesEndpoint = env.optionalString('OTEL_EXPORTER_OTLP_TRACES_ENDPOINT');
  const baseEndpoint = env.optionalString('OTEL_EXPORTER_OTLP_ENDPOINT');
  const tracesUrl = tracesEndpoint !== undefined
    ? env.url('OTEL_EXPORTER_OTLP_TRACES_ENDPOINT', tracesEndpoint)
    : baseEndpoint !== undefined
      ? `${env.url('OTEL_EXPORTER_OTLP_ENDPOINT', baseEndpoint)}/v1/traces`
      : undefined;
  const sampler = env.oneOf('OTEL_TRACES_SAMPLER', SAMPLERS, DEFAULT_SAMPLER);
  const samplerRatio = sampler.endsWith('traceidratio')
    ? env.number('OTEL_TRACES_SAMPLER_ARG', DEFAULT_SAMPLER_RATIO, { min: 0, max: 1 })
    : DEFAULT_SAMPLER_RATIO;
  return {
    tracesUrl: disabled || exporter === 'none' ? undefined : tracesUrl,
    serviceName: env.string('OTEL_SERVICE_NAME', service),
    sampler,
    samplerRatio,
  };
}

export function buildSampler(name: SamplerName, ratio: number): Sampler {
  switch (name) {
    case 'always_on': return new AlwaysOnSampler();
    case 'always_off': return new AlwaysOffSampler();
    case 'traceidratio': return new TraceIdRatioBasedSampler(ratio);
    case 'parentbased_always_on': return new ParentBasedSampler({ root: new AlwaysOnSampler() });
    case 'parentbased_always_off': return new ParentBasedSampler({ root: new AlwaysOffSampler() });
    case 'parentbased_traceidratio': return new ParentBasedSampler({ root: new TraceIdRatioBasedSampler(ratio) });
  }
}

let active = false;
/** The SDK's tracer, taken once: trace.getTracer() per span showed in the services' profiles. */
let sdkTracer: Tracer | undefined;
/** Whether a child of an unsampled parent is never recorded (every parentbased_* sampler): see unsampledChild. */
let parentBased = false;
/** The root sampler when it decides by the trace id alone (the *traceidratio samplers): see startRootSpan. */
let rootRatioSampler: Sampler | undefined;
/** A trace id startRootSpan has sampled already, for the SDK's root span to take. */
let sampledRootTraceId: string | undefined;

/**
 * Whether a span context can be continued. Every context here comes from the SDK, the W3C propagator or a
 * traceparent our pattern matched (lowercase hex of the right lengths), so only the all-zero ids the
 * specification calls invalid remain to check, without the API's hex scans per record.
 */
function continuable(c: SpanContext): boolean {
  return c.traceId !== INVALID_TRACEID && c.spanId !== INVALID_SPANID;
}

/** True once startTracing registered a provider in this process: spans are real and traceparents come from them. */
export function tracingEnabled(): boolean {
  return active;
}

export interface Tracing {
  enabled: boolean;
  /** Exports what is buffered and stops; the last stop step of a service. */
  shutdown(): Promise<void>;
}

/**
 * Registers the global tracer provider (async-hooks context, W3C propagation) when the settings name an endpoint.
 * `spanProcessors` replace the OTLP batch exporter (tests record spans in memory with them).
 */
export function startTracing(settings: TracingSettings, spanProcessors?: SpanProcessor[]): Tracing {
  if (settings.tracesUrl === undefined && spanProcessors === undefined) return { enabled: false, shutdown: async () => {} };
  const resource = resourceFromAttributes({ [ATTR_SERVICE_NAME]: settings.serviceName })
    .merge(detectResources({ detectors: [envDetector] }))
    // OTEL_SERVICE_NAME wins over a service.name in OTEL_RESOURCE_ATTRIBUTES, as the specification says.
    .merge(resourceFromAttributes({ [ATTR_SERVICE_NAME]: settings.serviceName }));
  const provider = new NodeTracerProvider({
    resource,
    sampler: buildSampler(settings.sampler, settings.samplerRatio),
    // The SDK's generator makes one Math.random call per byte; trace ids are two pooled span ids (neither all zero).
    idGenerator: { generateTraceId: () => sampledRootTraceId ?? newTraceId(), generateSpanId: newSpanId },
    spanProcessors: spanProcessors ?? [new BatchSpanProcessor(new OTLPTraceExporter({ url: settings.tracesUrl }))],
  });
  // No context manager yet: see withSpan.
  provider.register({ contextManager: null });
  if (spanProcessors === undefined) {
    warmUpRecording(resource, TRACER_NAME, (traceparent) => propagator.extract(ROOT_CONTEXT, { [TRACEPARENT]: traceparent }, getter));
  }
  active = true;
  sdkTracer = trace.getTracer(TRACER_NAME);
  parentBased = settings.sampler.startsWith('parentbased_');
  rootRatioSampler = settings.sampler.endsWith('traceidratio') ? new TraceIdRatioBasedSampler(settings.samplerRatio) : undefined;
  return {
    enabled: true,
    async shutdown() {
      active = false;
      sdkTracer = undefined;
      parentBased = false;
      rootRatioSampler = undefined;
      contextManager = undefined;
      await provider.shutdown();
      trace.disable();
      context.disable();
    },
  };
}

const TRACER_NAME = 'kafka-image-inference';
/** Services start tracing with this one tracer; instrumentation scope = the project. */
export function tracer(): Tracer {
  return sdkTracer ?? trace.getTracer(TRACER_NAME);
}

/**
 * A span that starts a trace of its own (a consumer's chunk span, one per poll). A trace-id ratio sampler decides by
 * the trace id alone, so the decision is taken here first: a dropped trace (99 % by default) gets its unrecorded span
 * without the SDK's span start, and a kept one is started by the SDK with that trace id, which its sampler keeps too.
 */
export function startRootSpan(name: string, kind: SpanKind): Span {
  if (rootRatioSampler === undefined) return tracer().startSpan(name, { kind }, ROOT_CONTEXT);
  const traceId = newTraceId();
  if (rootRatioSampler.shouldSample(ROOT_CONTEXT, traceId, name, kind, {}, []).decision === SamplingDecision.NOT_RECORD) return new UnsampledSpan(`00-${traceId}-`);
  sampledRootTraceId = traceId;
  try {
    return tracer().startSpan(name, { kind }, ROOT_CONTEXT);
  } finally {
    sampledRootTraceId = undefined;
  }
}

/** The unrecorded child of an unsampled parent under a parent-based sampler; undefined: let the SDK decide. */
function unsampledChild(parent: Span | undefined): Span | undefined {
  if (parent instanceof UnsampledSpan) return parent.child();
  if (!parentBased || parent === undefined) return undefined;
  const c = parent.spanContext();
  return (c.traceFlags & TraceFlags.SAMPLED) === TraceFlags.SAMPLED || !continuable(c) ? undefined : new UnsampledSpan(`00-${c.traceId}-`);
}

const propagator = new W3CTraceContextPropagator();
const getter = {
  get: (carrier: Record<string, string | undefined>, key: string) => carrier[key],
  keys: (carrier: Record<string, string | undefined>) => Object.keys(carrier),
};

/** The context a record's or request's `traceparent` continues (the base context when absent or malformed). */
export function contextFromTraceparent(traceparent: string | undefined, base: Context = ROOT_CONTEXT): Context {
  if (!active || traceparent === undefined) return base;
  return propagator.extract(base, { [TRACEPARENT]: traceparent }, getter);
}

/** The span context a traceparent names, for a span link; undefined when malformed. */
export function spanContextOf(traceparent: string | undefined): SpanContext | undefined {
  if (!active || traceparent === undefined) return undefined;
  // Most records of a chunk are unsampled: their context is read without the propagator's context objects.
  const linked = UNSAMPLED_TRACEPARENT.test(traceparent)
    ? { traceId: traceparent.slice(3, 35), spanId: traceparent.slice(36, 52), traceFlags: TraceFlags.NONE, isRemote: true }
    : trace.getSpanContext(contextFromTraceparent(traceparent));
  return linked && isSpanContextValid(linked) ? linked : undefined;
}

export function formatTraceparent(spanContext: SpanContext): string {
  const flags = (spanContext.traceFlags & TraceFlags.SAMPLED) === TraceFlags.SAMPLED ? '01' : '00';
  return `00-${spanContext.traceId}-${spanContext.spanId}-${flags}`;
}

/**
 * The traceparent for a record this span sends: the span's own context, so the next hop's span is its child.
 * Undefined without tracing: the caller writes a new span id in the inbound trace, as every service did before.
 */
export function spanTraceparent(span: Span | undefined): string | undefined {
  if (span instanceof UnsampledSpan) return active ? span.traceparent : undefined;
  const spanContext = span?.spanContext();
  return active && spanContext && continuable(spanContext) ? formatTraceparent(spanContext) : undefined;
}

/** The span's trace id when it was sampled (still after it ended), for an exemplar. */
export function sampledTraceId(span: Span): string | undefined {
  if (!active || span instanceof UnsampledSpan) return undefined;
  const spanContext = span.spanContext();
  return (spanContext.traceFlags & TraceFlags.SAMPLED) === TraceFlags.SAMPLED && continuable(spanContext) ? spanContext.traceId : undefined;
}

/** trace_id and span_id of the active span, for log lines and exemplars; empty when there is none. */
export function activeTraceIds(): { trace_id?: string; span_id?: string } {
  if (!active) return {};
  const spanContext = trace.getSpan(context.active())?.spanContext();
  if (!spanContext || !isSpanContextValid(spanContext)) return {};
  return { trace_id: spanContext.traceId, span_id: spanContext.spanId };
}

let contextManager: AsyncLocalStorageContextManager | undefined;

/**
 * Runs `fn` with `span` active (so logs and child spans see it, across awaits). The AsyncLocalStorage context manager
 * that carries it is registered on the first call: on Node 20 it hooks every promise of the process (with it the
 * router and consumer spent 34 % more CPU per image at 5 % sampling, without it 12 %; bench/tracing-cost.ts), so
 * they pass parents explicitly and never call this.
 */
export function withSpan<T>(span: Span, fn: () => T): T {
  if (active && contextManager === undefined) {
    contextManager = new AsyncLocalStorageContextManager().enable();
    context.setGlobalContextManager(contextManager);
  }
  return context.with(trace.setSpan(context.active(), span), fn);
}

/**
 * Runs `fn` timed by `span` and ends it; a thrown error marks the span failed first. The span is not made active:
 * on Node 20 an active context (AsyncLocalStorage) puts a hook on every promise of the process from then on, a
 * cost the consumers' hot paths would pay whether or not anything is sampled, so they pass parents explicitly.
 * A span that records nothing has nothing to end or mark: `fn` runs without a promise of its own around it.
 */
export function inSpan<T>(span: Span, fn: (span: Span) => Promise<T>): Promise<T> {
  return span.isRecording() ? recordedSpan(span, fn) : fn(span);
}

async function recordedSpan<T>(span: Span, fn: (span: Span) => Promise<T>): Promise<T> {
  try {
    return await fn(span);
  } catch (error) {
    recordFailure(span, error);
    throw error;
  } finally {
    span.end();
  }
}

/** Marks the span failed with the error's message, the way the conventions ask (status ERROR, error.type). */
export function recordFailure(span: Span, error: unknown, type?: string): void {
  if (!span.isRecording()) return;
  const message = error instanceof Error ? error.message : String(error);
  span.setStatus({ code: SpanStatusCode.ERROR, message });
  span.setAttribute('error.type', type ?? (error instanceof Error ? error.name : 'Error'));
  if (error instanceof Error) span.recordException(error);
}

/** A record that becomes a dead letter marks the span it was processed in. */
export function recordPipelineFailure(span: Span, error: { errorClass: string; stage: string; message: string }): void {
  if (!span.isRecording()) return;
  span.setStatus({ code: SpanStatusCode.ERROR, message: error.message });
  span.setAttributes({ 'error.type': error.errorClass, 'imgpipe.dlq.stage': error.stage });
}

/** A server span for an HTTP request (HTTP semantic conventions), continuing the client's `traceparent`. */
export function httpServerSpan(req: IncomingMessage): Span {
  const traceparent = req.headers[TRACEPARENT];
  const method = req.method ?? 'GET';
  return tracer().startSpan(method, {
    kind: SpanKind.SERVER,
    attributes: {
      'http.request.method': method,
      'url.path': (req.url ?? '/').split('?')[0] ?? '/',
      'server.address': req.socket.localAddress ?? '',
      'server.port': req.socket.localPort ?? 0,
      'network.peer.address': req.socket.remoteAddress ?? '',
      'user_agent.original': req.headers['user-agent'] ?? '',
    },
  }, contextFromTraceparent(typeof traceparent === 'string' ? traceparent : undefined));
}

/**
 * A consumer span for one record, continuing the trace of its `traceparent` header (the messaging conventions'
 * "process" span, child of the producer's "send" span).
 */
export function startProcessSpan(m: KafkaMessage & { traceparent: string | undefined }): Span {
  if (parentBased && m.traceparent !== undefined && UNSAMPLED_TRACEPARENT.test(m.traceparent)) return UnsampledSpan.childOf(m.traceparent);
  const parent = contextFromTraceparent(m.traceparent);
  return unsampledChild(trace.getSpan(parent)) ?? tracer().startSpan(
    messagingSpanName('process', m.topic),
    { kind: SpanKind.CONSUMER, attributes: messagingAttributes('process', m) },
    parent,
  );
}

/**
 * A producer span for one record sent to `topic`, child of `parent` (the active span when not given); its context
 * goes in the record's header.
 */
export function startSendSpan(m: KafkaMessage, parent?: Span): Span {
  return unsampledChild(parent)
    ?? startChildSpan(messagingSpanName('send', m.topic), parent, { kind: SpanKind.PRODUCER, attributes: messagingAttributes('send', m) });
}

/** A span whose parent is given rather than taken from the active context (the active one when not given). */
export function startChildSpan(name: string, parent: Span | undefined, options: SpanOptions = {}): Span {
  return unsampledChild(parent) ?? tracer().startSpan(name, options, parent ? trace.setSpan(ROOT_CONTEXT, parent) : context.active());
}
