/**
 * The parts of the Avro records (schemas/prediction.avsc, schemas/feedback.avsc) that the analytics read.
 * Structural subsets, so a fully decoded Prediction or Feedback can be passed as is.
 */
import type { ImageQuality } from '../../models/runtime/preprocess/image-quality.ts';

export type Variant = 'served' | 'shadow';

export interface PredictionInput {
  request_id: string;
  model_name: string;
  model_version: string;
  experiment_id: string | null;
  shadow: boolean;
  predicted_index: number;
  predicted_label: string;
  confidence: number;
  /** Best first; scores are probabilities. Absent in records built without it (the estimate then uses `confidence` alone). */
  top_k?: readonly { score: number }[];
  timings: { total_ms: number };
  /** quality: the image's quality features (schemas/prediction.avsc); null or absent from older consumers. */
  input_stats: { brightness: number; contrast: number; width: number; height: number; quality?: ImageQuality | null };
  /** Event time (ms since epoch); windows are cut on it. */
  predicted_at: number;
}

export interface FeedbackInput {
  request_id: string;
  true_label: string;
  true_index: number | null;
  /** Event time (ms since epoch). */
  observed_at: number;
}

/** A record the analytics cannot count; thrown before any state changes, so the caller can dead-letter it. */
/** Class indices are bounded so a corrupt record cannot make the per-class arrays huge. */
export const MAX_CLASS_INDEX = 65_535;

export class InvalidEventError extends Error {
  override readonly name = 'InvalidEventError';
}

export function variantOf(p: Pick<PredictionInput, 'shadow'>): Variant {
  return p.shadow ? 'shadow' : 'served';
}

function shapeProblem(record: unknown, fields: Record<string, 'string' | 'boolean' | 'object'>): string | null {
  if (typeof record !== 'object' || record === null) return 'the record is not an object';
  for (const [field, type] of Object.entries(fields)) {
    const value = (record as Record<string, unknown>)[field];
    if (typeof value !== type || value === null) return `${field} is missing or not a${type === 'object' ? 'n' : ''} ${type}`;
  }
  return null;
}

/** Why a prediction cannot be counted, or null when it can. */
export function predictionProblem(p: PredictionInput): string | null {
  // A record of another schema can reach the topic and decode: check the shape before reading nested fields.
  const shape = shapeProblem(p, { request_id: 'string', model_name: 'string', model_version: 'string', predicted_label: 'string', shadow: 'boolean', timings: 'object', input_stats: 'object' });
  if (shape) return shape;
  if (p.experiment_id !== null && typeof p.experiment_id !== 'string') return 'experiment_id is neither a string nor null';
  if (p.request_id === '') return 'request_id is empty';
  if (!Number.isInteger(p.predicted_index) || p.predicted_index < 0 || p.predicted_index > MAX_CLASS_INDEX) {
    return `predicted_index ${p.predicted_index} is not an integer in [0, ${MAX_CLASS_INDEX}]`;
  }
  const finite: Array<[string, number]> = [
    ['confidence', p.confidence],
    ['timings.total_ms', p.timings.total_ms],
    ['input_stats.brightness', p.input_stats.brightness],
    ['input_stats.contrast', p.input_stats.contrast],
    ['predicted_at', p.predicted_at],
  ];
  for (const [field, value] of finite) {
    if (!Number.isFinite(value)) return `${field} is ${value}, expected a finite number`;
  }
  return null;
}

/** Why a feedback record cannot be joined, or null when it can. */
export function feedbackProblem(f: FeedbackInput): string | null {
  const shape = shapeProblem(f, { request_id: 'string', true_label: 'string' });
  if (shape) return shape;
  if (f.request_id === '') return 'request_id is empty';
  if (f.true_index !== null && (!Number.isInteger(f.true_index) || f.true_index < 0)) {
    return `true_index ${f.true_index} is not a non-negative integer`;
  }
  if (!Number.isFinite(f.observed_at)) return `observed_at is ${f.observed_at}, expected a finite number`;
  return null;
}
