import type { ItemPrediction } from '../../models/runtime/run-batch.ts';
import type { ImageQuality } from '../../models/runtime/preprocess/image-quality.ts';
import type { InputStats } from '../../models/runtime/preprocess/preprocess-image.ts';
import type { RoutedRequest } from '../../router/routed-request.ts';

/** The Prediction value (schemas/prediction.avsc). */
export interface Prediction {
  request_id: string;
  model_name: string;
  model_version: string;
  experiment_id: string | null;
  rule_id: string | null;
  shadow: boolean;
  stickiness_key: string | null;
  predicted_index: number;
  predicted_label: string;
  confidence: number;
  top_k: { index: number; label: string; score: number }[];
  timings: { queue_wait_ms: number; fetch_ms: number; preprocess_ms: number; inference_ms: number; total_ms: number };
  input_stats: { width: number; height: number; channels: number; bytes: number; brightness: number; contrast: number; quality: ImageQuality | null };
  batch_size: number;
  submitted_at: number;
  predicted_at: number;
  consumer_id: string | null;
  /** Served by a rule's fallback version because the version it chose was down. */
  fallback: boolean;
  /** Answered from the consumer's result cache (same image bytes, model version and file); absent: false. */
  cached?: boolean;
}

export interface ItemTimings {
  batchStartedAt: number;
  fetchMs: number;
  preprocessMs: number;
  inferenceMs: number;
}

/** Pure: one request's prediction from its scores, stats and timings. */
export function buildPrediction(
  request: RoutedRequest,
  result: Pick<ItemPrediction, 'top'>,
  stats: InputStats,
  t: ItemTimings,
  meta: { modelName: string; batchSize: number; consumerId: string; now: number; cached?: boolean },
): Prediction {
  const best = result.top[0] ?? { index: -1, label: '', score: 0 };
  return {
    request_id: request.request_id,
    model_name: meta.modelName,
    model_version: request.model_version,
    experiment_id: request.experiment_id,
    rule_id: request.rule_id,
    shadow: request.shadow,
    stickiness_key: request.stickiness_key,
    predicted_index: best.index,
    predicted_label: best.label,
    confidence: best.score,
    top_k: result.top.map((s) => ({ index: s.index, label: s.label, score: s.score })),
    timings: {
      queue_wait_ms: Math.max(0, t.batchStartedAt - request.submitted_at),
      fetch_ms: t.fetchMs,
      preprocess_ms: t.preprocessMs,
      inference_ms: t.inferenceMs,
      total_ms: Math.max(0, meta.now - request.submitted_at),
    },
    input_stats: {
      width: stats.width, height: stats.height, channels: stats.channels, bytes: stats.bytes,
      brightness: stats.brightness, contrast: stats.contrast, quality: stats.quality,
    },
    batch_size: meta.batchSize,
    submitted_at: request.submitted_at,
    predicted_at: meta.now,
    consumer_id: meta.consumerId,
    fallback: request.fallback === true,
    cached: meta.cached === true,
  };
}
