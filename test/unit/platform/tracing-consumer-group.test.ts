/**
 * Every consumer span names its consumer group (messaging.consumer.group.name, OpenTelemetry messaging semantic
 * conventions): the router's per-record span, the inference consumer's chunk and per-request spans, and the drift
 * monitor's counting span, so that a trace tells which group (and so which deployment) processed the record.
 */
import type { KafkaMessage } from 'kafkajs';
import { Registry } from 'prom-client';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { InMemorySpanExporter, SimpleSpanProcessor } from '@opentelemetry/sdk-trace-base';

import { driftConfig, type DriftContext } from '../../../drift-monitor/analytics/drift-state.ts';
import { DriftProcessor } from '../../../drift-monitor/service/drift-processor.ts';
import { inferChunkProcessor } from '../../../inference-consumers/service/infer-chunk.ts';
import { createInferenceMetrics } from '../../../inference-consumers/service/metrics.ts';
import { TensorPool } from '../../../inference-consumers/service/tensor-pool.ts';
import type { LoadedModel } from '../../../models/loader/load-model.ts';
import type { ModelRegistry } from '../../../models/loader/model-registry.ts';
import { EnvReader } from '../../../platform/config.ts';
import { createLogger } from '../../../platform/logger.ts';
import type { AvroSerde } from '../../../platform/schema-registry.ts';
import { newTraceparent } from '../../../platform/trace.ts';
import { readTracingSettings, SpanKind, startTracing, type Tracing } from '../../../platform/tracing.ts';
import { topicNames } from '../../../platform/topics.ts';
import { newImageRequest } from '../../../producers/image-request.ts';
import { createRouterMetrics } from '../../../router/metrics.ts';
import { ModelTables } from '../../../router/model-tables.ts';
import { routeChunkProcessor } from '../../../router/route-chunk.ts';
import { prediction, withReference } from '../drift-monitor/fixtures.ts';
import { validManifest } from '../inference/fixtures.ts';

const GROUP = 'messaging.consumer.group.name';

const record = (value: unknown, offset: number): KafkaMessage => ({
  key: Buffer.from(`r${offset}`), value: Buffer.from(JSON.stringify(value)), offset: String(offset), timestamp: '0', attributes: 0,
  headers: { traceparent: newTraceparent(), 'x-request-id': `r${offset}` },
});

let exporter: InMemorySpanExporter;
let tracing: Tracing;
beforeEach(() => {
  exporter = new InMemorySpanExporter();
  const settings = readTracingSettings(new EnvReader({}), 'svc');
  tracing = startTracing({ ...settings, sampler: 'parentbased_always_on' }, [new SimpleSpanProcessor(exporter)]);
});
afterEach(async () => {
  await tracing.shutdown();
});

/** JSON in place of registry Avro: these tests are about spans, not the wire format. */
const serde = {
  decode: async (value: Buffer) => JSON.parse(value.toString()) as unknown,
  encode: async (_topic: string, _name: string, value: unknown) => Buffer.from(JSON.stringify(value)),
} as unknown as AvroSerde;

const consumerSpans = () => exporter.getFinishedSpans().filter((s) => s.kind === SpanKind.CONSUMER);

describe('consumer spans name their consumer group', () => {
  it('the router\'s process span of each record', async () => {
    const tables = new ModelTables({ tableKey: 'default', defaultModel: 'fashion-mnist', fallbackVersion: 'v1', logger: createLogger('test', 'silent'), labelDown: () => false });
    const route = routeChunkProcessor({
      serde, topics: topicNames('t'), tables, metrics: createRouterMetrics(new Registry()), defaultModel: 'fashion-mnist', consumerGroup: 't.router',
      limits: { maxUriBytes: 8_192, maxMetadataBytes: 16_384, maxAgeMs: 0 },
    });
    const records = [0, 1].map((i) => record(newImageRequest('file:///a.png', { requestId: `r${i}` }), i));
    const chunk = await route(records, { topic: 't.requests', partition: 0, signal: new AbortController().signal, progress: () => {}, checkpoint: async () => {} });
    expect(chunk.outputs).toHaveLength(2);
    const spans = consumerSpans();
    expect(spans.map((s) => s.name)).toEqual(['process t.requests', 'process t.requests']);
    for (const span of spans) expect(span.attributes[GROUP]).toBe('t.router');
  });

  it('the inference consumer\'s chunk span and each request\'s span', async () => {
    const manifest = validManifest();
    const model = { manifest, session: {}, provider: 'cpu', sha256: 'a'.repeat(64), uri: 'models/v1' } as unknown as LoadedModel;
    const models = { use: <T>(_label: string, fn: (m: LoadedModel) => Promise<T>) => fn(model) } as unknown as ModelRegistry;
    const infer = inferChunkProcessor({
      serde, models, label: 'v1', predictionsTopic: 't.predictions', metrics: createInferenceMetrics(new Registry()), consumerGroup: 't.inference-v1',
      batch: {
        fetch: () => Promise.reject(new Error('not fetched: routed to another version')), tensors: new TensorPool(4),
        limits: { maxPixels: 1_000_000 }, fetchConcurrency: 2, topK: 3, consumerId: 'c-1',
      },
    });
    // Routed to a version this consumer does not serve: dead letters, without a fetch or a model call.
    const records = [0, 1].map((i) => record({ request_id: `r${i}`, uri: 's3://images/x.png', model_version: 'v9' }, i));
    const chunk = await infer(records, { topic: 't.requests.v1', partition: 1, signal: new AbortController().signal, progress: () => {}, checkpoint: async () => {} });
    expect(chunk.failed.map((f) => f.error.errorClass)).toEqual(['UnknownVersion', 'UnknownVersion']);
    const finished = consumerSpans();
    expect(finished).toHaveLength(3);
    for (const span of finished) expect(span.attributes[GROUP]).toBe('t.inference-v1');
  });

  it('the drift monitor\'s span counting a prediction, with the group that holds its positions', () => {
    const topics = { predictions: 't.predictions', feedback: 't.feedback' };
    const ctx: DriftContext = { config: driftConfig({ window: { policy: { kind: 'count', size: 10 } } }), referenceFor: withReference };
    const processor = new DriftProcessor(ctx, topics, undefined, 't.drift-monitor');
    const messages = [0, 1].map((i) => record({}, i));
    processor.applyChunk(topics.predictions, 0, messages.map((message) => ({ message, value: prediction() })), []);
    const finished = consumerSpans();
    expect(finished.map((s) => s.name)).toEqual(['process t.predictions', 'process t.predictions']);
    for (const span of finished) expect(span.attributes[GROUP]).toBe('t.drift-monitor');
  });
});
