/** The router's chunk processor: decode, check limits, route and encode each request on its own. */
import type { KafkaMessage } from 'kafkajs';
import type { ChunkProcessor, ProcessedChunk } from '../platform/consumer/chunk-isolation.ts';
import type { FailedRecord } from '../platform/dead-letter.ts';
import { decodeChunk } from '../platform/decode-batch.ts';
import { PipelineError } from '../platform/errors.ts';
import { headerString } from '../platform/headers.ts';
import { TRACEPARENT } from '../platform/trace.ts';
import { inSpan, recordPipelineFailure, spanTraceparent, startProcessSpan, startSendSpan, type Span } from '../platform/tracing.ts';
import { effectiveDeadline, expiryError } from '../platform/request-deadline.ts';
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
  /** maxAgeMs: REQUEST_MAX_AGE_MS (0: off), stamped into the routed copies of requests without a deadline. */
  limits: RequestLimits & { maxAgeMs: number };
  metrics: RouterMetrics;
  defaultModel: string;
  /** The router's consumer group, named on its process spans (messaging.consumer.group.name). */
  consumerGroup: string;
}

export function routeChunkProcessor(d: RouteChunkDeps): ChunkProcessor {
  return async (records, ctx): Promise<ProcessedChunk> => {
    const timer = d.metrics.batchSeconds.startTimer();
    const { decoded, failed } = await decodeChunk<ImageRequest>(d.serde, ctx.topic, ctx.partition, records, 'ImageRequest');
    const outputs: ProcessedChunk['outputs'] = [];
    const routed: { source: KafkaMessage; output: RoutedOutput; send: Span }[] = [];
    const dead: FailedRecord[] = [...failed];
    const processSpans = new Map<KafkaMessage, Span>();
    const fail = (message: KafkaMessage, error: PipelineError, requestId: string): void => {
      const span = processSpans.get(message);
      if (span) recordPipelineFailure(span, error);
      dead.push({ topic: ctx.topic, partition: ctx.partition, message, error, requestId });
    };
    const now = Date.now();
    // Each request is processed in a span continuing its own trace; each routed copy is sent in a child span.
    await Promise.all(decoded.map(({ message, value }) => inSpan(startProcessSpan({
      topic: ctx.topic, partition: ctx.partition, offset: message.offset, key: message.key, consumerGroup: d.consumerGroup,
      traceparent: headerString(message.headers, TRACEPARENT),
    }), async (span) => {
      processSpans.set(message, span);
      const expired = expiryError(value, 'route', now, d.limits.maxAgeMs);
      if (expired) return fail(message, expired, value.request_id);
      const tooBig = checkRequestLimits(value, d.limits);
      if (tooBig) return fail(message, tooBig, value.request_id);
      // The consumers then honour this deployment's maximum age whatever their own setting.
      const outcome = routeRecord(d.tables, { ...value, deadline: effectiveDeadline(value, d.limits.maxAgeMs) }, message, now);
      if (!outcome.ok) return fail(message, outcome.error, outcome.requestId);
      try {
        const sends = outcome.outputs.map((o) => startSendSpan({ topic: d.topics.requestsFor(o.version, o.model, o.lane), key: o.key }, span));
        const encoded = await Promise.all(outcome.outputs.map(async (o, i) => {
          const topic = d.topics.requestsFor(o.version, o.model, o.lane);
          const headers = { ...o.headers, [TRACEPARENT]: spanTraceparent(sends[i]) ?? o.headers[TRACEPARENT] as string };
          return { source: message, record: { topic, key: o.key, value: await d.serde.encode(topic, 'RoutedRequest', o.value, 'route'), headers } };
        })).catch((err: unknown) => {
          for (const send of sends) send.end();
          throw err;
        });
        outputs.push(...encoded);
        routed.push(...outcome.outputs.map((output, i) => ({ source: message, output, send: sends[i] as Span })));
      } catch (err) {
        if (!(err instanceof PipelineError)) throw err;
        fail(message, err, value.request_id);
      }
      ctx.progress(message);
    })));
    return {
      outputs,
      failed: dead,
      onDelivered: (dropped) => {
        d.metrics.consumed.inc(records.length);
        for (const { source, output: o, send } of routed) {
          // A send span lasts until the broker acknowledged the transaction that carried its record.
          send.end();
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
