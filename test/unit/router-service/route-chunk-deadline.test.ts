import type { KafkaMessage } from 'kafkajs';
import { Registry } from 'prom-client';
import { describe, expect, it } from 'vitest';
import { createLogger } from '../../../platform/logger.ts';
import type { AvroSerde } from '../../../platform/schema-registry.ts';
import { topicNames } from '../../../platform/topics.ts';
import { newImageRequest, type ImageRequest } from '../../../producers/image-request.ts';
import { createRouterMetrics } from '../../../router/metrics.ts';
import { ModelTables } from '../../../router/model-tables.ts';
import { routeChunkProcessor } from '../../../router/route-chunk.ts';
import type { RoutedRequest } from '../../../router/routed-request.ts';

/** JSON in place of registry Avro: this test is about what the router decides, not the wire format. */
const serde = {
  decode: async (value: Buffer) => JSON.parse(value.toString()) as unknown,
  encode: async (_topic: string, _name: string, value: unknown) => Buffer.from(JSON.stringify(value)),
} as unknown as AvroSerde;

const message = (r: ImageRequest, offset: number): KafkaMessage =>
  ({ key: null, value: Buffer.from(JSON.stringify(r)), offset: String(offset), timestamp: '0', attributes: 0, headers: {} }) as KafkaMessage;

function processor(maxAgeMs: number) {
  const tables = new ModelTables({ tableKey: 'default', defaultModel: 'fashion-mnist', fallbackVersion: 'v1', logger: createLogger('test', 'silent'), labelDown: () => false });
  return routeChunkProcessor({
    serde, topics: topicNames('t'), tables, metrics: createRouterMetrics(new Registry()), defaultModel: 'fashion-mnist', consumerGroup: 't.router',
    limits: { maxUriBytes: 8_192, maxMetadataBytes: 16_384, maxAgeMs },
  });
}

const ctx = { topic: 't.requests', partition: 0, signal: new AbortController().signal, progress: () => {}, checkpoint: async () => {} };

describe('router deadlines', () => {
  it('dead-letters an expired request as route/Expired and routes the rest, stamping REQUEST_MAX_AGE_MS into their deadline', async () => {
    const now = Date.now();
    const requests = [
      newImageRequest('file:///a.png', { requestId: 'past', deadline: now - 1 }),
      newImageRequest('file:///a.png', { requestId: 'old', now: now - 120_000 }),
      newImageRequest('file:///a.png', { requestId: 'own', deadline: now + 5_000 }),
      newImageRequest('file:///a.png', { requestId: 'fresh', now }),
    ];
    const chunk = await processor(60_000)(requests.map(message), ctx);
    expect(chunk.failed.map((f) => [f.requestId, f.error.stage, f.error.errorClass]).sort())
      .toEqual([['old', 'route', 'Expired'], ['past', 'route', 'Expired']]);
    const routed = chunk.outputs.map((o) => JSON.parse((o.record.value as Buffer).toString()) as RoutedRequest);
    expect(Object.fromEntries(routed.map((r) => [r.request_id, r.deadline]))).toEqual({ own: now + 5_000, fresh: now + 60_000 });
    expect(chunk.outputs.every((o) => o.record.topic === 't.requests.v1')).toBe(true);
  });

  it('routes requests without a deadline untouched when no maximum age is set', async () => {
    const chunk = await processor(0)([message(newImageRequest('file:///a.png', { requestId: 'ancient', now: 1 }), 0)], ctx);
    expect(chunk.failed).toEqual([]);
    expect((JSON.parse((chunk.outputs[0]?.record.value as Buffer).toString()) as RoutedRequest).deadline).toBeNull();
  });
});
