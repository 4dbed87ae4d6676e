/** The inference consumer's chunk processor: decode, fetch + preprocess + one model call, encode predictions. */
import type { ModelRegistry } from '../../models/loader/model-registry.ts';
import type { ChunkProcessor, ProcessedChunk } from '../../platform/consumer/chunk-isolation.ts';
import type { FailedRecord } from '../../platform/dead-letter.ts';
import { observeSeconds } from '../../platform/metrics.ts';
import { decodeChunk } from '../../platform/decode-batch.ts';
import { PipelineError } from '../../platform/errors.ts';
import { HEADER, headersToStrings } from '../../platform/headers.ts';
import type { AvroSerde } from '../../platform/schema-registry.ts';
import { childTraceparent, TRACEPARENT } from '../../platform/trace.ts';
import { recordFailure, spanTraceparent, startSendSpan, type Span } from '../../platform/tracing.ts';
import type { RoutedRequest } from '../../router/routed-request.ts';
import type { InferenceMetrics } from './metrics.ts';
import { startChunkSpans, type ChunkSpans } from './batch-tracing.ts';
import { processBatch, type BatchDeps } from './process-batch.ts';

export interface InferChunkDeps {
  serde: AvroSerde;
  models: ModelRegistry;
  /** The model label served (MODEL_VERSION). */
  label: string;
  predictionsTopic: string;
  metrics: InferenceMetrics;
  /** The consumer group, named on the chunk's and the requests' spans (messaging.consumer.group.name). */
  consumerGroup: string;
  batch: Omit<BatchDeps, 'model' | 'signal' | 'progress'>;
}

export function inferChunkProcessor(d: InferChunkDeps): ChunkProcessor {
  const label = d.label;
  return async (records, ctx): Promise<ProcessedChunk> => {
    const { decoded, failed } = await decodeChunk<RoutedRequest>(d.serde, ctx.topic, ctx.partition, records, 'RoutedRequest');
    for (const f of failed) ctx.progress(f.message);
    let spans: ChunkSpans | undefined;
    const result = await d.models.use(label, (model) => {
      spans = startChunkSpans(records, decoded.map((x) => x.message), {
        topic: ctx.topic, partition: ctx.partition, consumerGroup: d.consumerGroup, model: model.manifest.name, version: model.manifest.version,
      });
      return processBatch(
        decoded.map((x) => ({ message: x.message, request: x.value })),
        { ...d.batch, model, signal: ctx.signal, progress: (item) => ctx.progress(item.message), checkpoint: ctx.checkpoint, tracer: spans },
      );
    }).catch((err: unknown) => {
      spans?.end(new Map(decoded.map((x) => [x.message, err as Error])));
      throw err;
    });
    const dead: FailedRecord[] = [
      ...failed,
      ...result.failed.map((f) => ({
        topic: ctx.topic, partition: ctx.partition, message: f.item.message, error: f.error,
        requestId: f.item.request.request_id, modelVersion: f.item.request.model_version, attempts: f.attempts,
      })),
    ];
    const produceTimer = d.metrics.stageSeconds.startTimer({ version: label, stage: 'produce' });
    const outputs: ProcessedChunk['outputs'] = [];
    const delivered: typeof result.predictions = [];
    // Each prediction's send span is a child of its request's span and lasts until the transaction is acknowledged.
    const sends: Span[] = [];
    if (spans) sends.push(startSendSpan({ topic: d.predictionsTopic, batchSize: result.predictions.length }, spans.chunk));
    await Promise.all(result.predictions.map(async ({ item, prediction }) => {
      const headers = headersToStrings(item.message.headers);
      const parent = spans?.requestSpan(item.message);
      const send = parent ? startSendSpan({ topic: d.predictionsTopic, key: prediction.request_id }, parent) : undefined;
      if (send) sends.push(send);
      try {
        outputs.push({
          source: item.message,
          record: {
            topic: d.predictionsTopic,
            key: prediction.request_id,
            value: await d.serde.encode(d.predictionsTopic, 'Prediction', prediction),
            headers: {
              [TRACEPARENT]: spanTraceparent(send) ?? childTraceparent(headers[TRACEPARENT]),
              [HEADER.requestId]: prediction.request_id,
              [HEADER.modelVersion]: prediction.model_version,
              [HEADER.shadow]: String(prediction.shadow),
              ...(prediction.experiment_id ? { [HEADER.experimentId]: prediction.experiment_id } : {}),
            },
          },
        });
        delivered.push({ item, prediction });
      } catch (err) {
        if (send) recordFailure(send, err);
        if (!(err instanceof PipelineError)) throw err;
        dead.push({ topic: ctx.topic, partition: ctx.partition, message: item.message, error: err, requestId: prediction.request_id, modelVersion: prediction.model_version });
      }
    })).finally(() => spans?.end(new Map(dead.map((f) => [f.message, f.error]))));
    return {
      outputs,
      failed: dead,
      onDelivered: (dropped) => {
        for (const send of sends) send.end();
        produceTimer();
        d.metrics.consumed.inc({ version: label }, records.length);
        if (result.inferred > 0) d.metrics.batchSize.observe({ version: label }, result.inferred);
        for (const v of result.stageSeconds.fetch) d.metrics.stageSeconds.observe({ version: label, stage: 'fetch' }, v);
        for (const v of result.stageSeconds.preprocess) d.metrics.stageSeconds.observe({ version: label, stage: 'preprocess' }, v);
        if (result.inferred > 0) d.metrics.stageSeconds.observe({ version: label, stage: 'inference' }, result.stageSeconds.inference);
        if (d.batch.cache) {
          d.metrics.cacheLookups.inc({ version: label, result: 'hit' }, result.cache.hits);
          d.metrics.cacheLookups.inc({ version: label, result: 'miss' }, result.cache.misses);
          d.metrics.cacheEntries.set({ version: label }, d.batch.cache.size);
          d.metrics.cacheBytes.set({ version: label }, d.batch.cache.bytes);
        }
        for (const { item, prediction } of delivered) {
          if (dropped.has(item.message)) continue;
          d.metrics.predictions.inc({ version: label, shadow: String(prediction.shadow) });
          // With the request's trace as the exemplar of its latency bucket, when it was sampled.
          observeSeconds(d.metrics.endToEndSeconds, { version: label, shadow: String(prediction.shadow) }, prediction.timings.total_ms / 1000, spans?.requestSpan(item.message));
        }
      },
    };
  };
}
