/** The router's chunk processor: decode, check limits, route and encode each request on its own. */
import type { KafkaMessage } from 'kafkajs';
import type { ChunkProcessor, ProcessedChunk } from '../platform/consumer/chunk-isolation.ts';
import type { FailedRecord } from '../platform/dead-letter.ts';
import { decodeChunk } from '../platform/decode-batch.ts';
import { PipelineError } from '../platform/errors.ts';
import type { AvroSerde } from '../platform/schema-registry.ts';
import type { TopicNames } from '../platform/topics.ts';
import type { ImageRequest } from '../producers/image-request.ts';
import type { RouterMetrics } from './metrics.ts';
import { checkRequestLimits, type RequestLimits } from './request-limits.ts';
import { routeRecord, type RoutedOutput } from './route-records.ts';
import type { ModelTables } from './model-tables.ts';

export interface RouteChunkDeps {
  serde: AvroSerde;
  topics: TopicNames;
  tables: ModelTables;
  limits: RequestLimits;
  metrics: RouterMetrics;
  defaultModel: string;
}

export function routeChunkProcessor(d: RouteChunkDeps): ChunkProcessor {
  return async (records, ctx): Promise<ProcessedChunk> => {
    const timer = d.metrics.batchSeconds.startTimer();
    const { decoded, failed } = await decodeChunk<ImageRequest>(d.serde, ctx.topic, ctx.partition, records, 'ImageRequest');
    const outputs: ProcessedChunk['outputs'] = [];
    const routed: { source: KafkaMessage; output: RoutedOutput }[] = [];
    const dead: FailedRecord[] = [...failed];
    const fail = (message: KafkaMessage, error: PipelineError, requestId: string): void => {
      dead.push({ topic: ctx.topic, partition: ctx.partition, message, error, requestId });
    };
    const now = Date.now();
    await Promise.all(decoded.map(async ({ message, value }) => {
      const tooBig = checkRequestLimits(value, d.limits);
      if (tooBig) return fail(message, tooBig, value.request_id);
      const outcome = routeRecord(d.tables, value, message, now);
      if (!outcome.ok) return fail(message, outcome.error, outcome.requestId);
      try {
        const encoded = await Promise.all(outcome.outputs.map(async (o) => {
          const topic = d.topics.requestsFor(o.version, o.model);
          return { source: message, record: { topic, key: o.key, value: await d.serde.encode(topic, 'RoutedRequest', o.value, 'route'), headers: o.headers } };
        }));
        outputs.push(...encoded);
        routed.push(...outcome.outputs.map((output) => ({ source: message, output })));
      } catch (err) {
        if (!(err instanceof PipelineError)) throw err;
        fail(message, err, value.request_id);
      }
      ctx.progress(message);
    }));
    return {
      outputs,
      failed: dead,
      onDelivered: (dropped) => {
        d.metrics.consumed.inc(records.length);
        for (const { source, output: o } of routed) {
          if (dropped.has(source)) continue;
          d.metrics.routed.inc({
            model: o.model ?? d.defaultModel, experiment: o.value.experiment_id ?? '', rule: o.value.rule_id ?? '', version: o.version,
            reason: o.decision.primary.reason, shadow: String(o.value.shadow),
          });
        }
        timer();
      },
    };
  };
}
