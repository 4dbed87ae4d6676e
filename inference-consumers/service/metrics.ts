import { Counter, Gauge, Histogram, type Registry } from 'prom-client';
import { exemplarsFor, LATENCY_BUCKETS_SECONDS } from '../../platform/metrics.ts';

export function createInferenceMetrics(registry: Registry) {
  const registers = [registry];
  return {
    consumed: new Counter({ name: 'inference_records_consumed_total', help: 'Routed requests read', labelNames: ['version'], registers }),
    predictions: new Counter({ name: 'inference_predictions_total', help: 'Predictions produced', labelNames: ['version', 'shadow'], registers }),
    deadLetters: new Counter({ name: 'inference_dead_letters_total', help: 'Records sent to the dead-letter topic', labelNames: ['version', 'stage', 'error_class'], registers }),
    fetchRetries: new Counter({ name: 'inference_fetch_retries_total', help: 'Retries of transient fetch failures', labelNames: ['version', 'error_class'], registers }),
    batchSize: new Histogram({
      name: 'inference_batch_size', help: 'Images per ONNX Runtime call', labelNames: ['version'],
      buckets: [1, 2, 4, 8, 16, 32, 64, 128, 256, 512], registers,
    }),
    stageSeconds: new Histogram({
      name: 'inference_stage_duration_seconds', help: 'Per-image fetch and preprocess time; per-batch inference and produce time',
      labelNames: ['version', 'stage'], buckets: LATENCY_BUCKETS_SECONDS, registers,
    }),
    endToEndSeconds: new Histogram({
      name: 'inference_end_to_end_latency_seconds', help: 'From the request\'s submitted_at to its prediction produced',
      labelNames: ['version', 'shadow'], buckets: LATENCY_BUCKETS_SECONDS, registers, ...exemplarsFor(registry),
    }),
    cacheLookups: new Counter({
      name: 'inference_result_cache_lookups_total', help: 'Result cache lookups by image content (RESULT_CACHE=on): hit or miss', labelNames: ['version', 'result'], registers,
    }),
    cacheEntries: new Gauge({ name: 'inference_result_cache_entries', help: 'Answers held in the result cache', labelNames: ['version'], registers }),
    cacheBytes: new Gauge({ name: 'inference_result_cache_bytes', help: 'Estimated heap bytes the result cache holds (bounded by RESULT_CACHE_MAX_BYTES)', labelNames: ['version'], registers }),
    modelLoaded: new Gauge({ name: 'inference_model_loaded', help: '1 while this model file serves', labelNames: ['version', 'sha256', 'provider'], registers }),
    modelLoadFailures: new Counter({ name: 'inference_model_load_failures_total', help: 'Model loads refused or failed', labelNames: ['version'], registers }),
    warmupSeconds: new Gauge({
      name: 'inference_warmup_seconds', help: 'Duration of the last warm-up (WARMUP_BATCHES blank batches of MAX_BATCH_SIZE) of a loaded model, before it took traffic',
      labelNames: ['version'], registers,
    }),
  };
}

export type InferenceMetrics = ReturnType<typeof createInferenceMetrics>;
