/**
 * schemas/prediction.avsc's optional input_stats.quality (per-image quality features for the drift monitor's
 * correctness model): a default of null keeps it BACKWARD and FORWARD compatible with the schema before it.
 */
import { readFileSync } from 'node:fs';
import avro from 'avsc';
import { describe, expect, it } from 'vitest';

type Json = Record<string, unknown> & { fields: Json[]; name: string; type: unknown };
const current = JSON.parse(readFileSync(new URL('../../../schemas/prediction.avsc', import.meta.url), 'utf8')) as Json;

/** The schema as it was before the field: input_stats without quality. */
function withoutQuality(schema: Json): Json {
  const copy = structuredClone(schema);
  const stats = copy.fields.find((f) => f.name === 'input_stats')!.type as Json;
  stats.fields = stats.fields.filter((f) => f.name !== 'quality');
  return copy;
}

const record = (quality: unknown): Record<string, unknown> => ({
  request_id: 'r1', model_name: 'fashion-mnist', model_version: 'v2', experiment_id: null, rule_id: null, shadow: false, stickiness_key: null,
  predicted_index: 3, predicted_label: 'Dress', confidence: 0.9, top_k: [{ index: 3, label: 'Dress', score: 0.9 }],
  timings: { queue_wait_ms: 1, fetch_ms: 0, preprocess_ms: 0.1, inference_ms: 2, total_ms: 4 },
  input_stats: { width: 28, height: 28, channels: 1, bytes: 300, brightness: 0.3, contrast: 0.3, ...(quality === undefined ? {} : { quality }) },
  batch_size: 1, submitted_at: 1, predicted_at: 2, consumer_id: null, fallback: false, cached: false,
});

const QUALITY = { noise: 0.05, residual_median: 0.1, zero_fraction: 0.4, sharpness: 2.5, blockiness: 1.1, dark_nonzero: 0.2, dark_step: 0.02 };

describe('Prediction input_stats.quality', () => {
  const now = avro.Type.forSchema(current as never);
  const before = avro.Type.forSchema(withoutQuality(current) as never);

  it('reads a record of the schema before it with quality null (backward)', () => {
    const old = before.toBuffer(record(undefined));
    const decoded = now.createResolver(before);
    expect((now.fromBuffer(old, decoded) as { input_stats: { quality: unknown } }).input_stats.quality).toBeNull();
  });

  it('lets a reader of the schema before it skip the features (forward), and round-trips them', () => {
    const buf = now.toBuffer(record(QUALITY));
    expect((now.fromBuffer(buf) as { input_stats: { quality: unknown } }).input_stats.quality).toEqual(QUALITY);
    const read = before.fromBuffer(buf, before.createResolver(now)) as { input_stats: Record<string, unknown> };
    expect(read.input_stats.brightness).toBe(0.3);
    expect(read.input_stats).not.toHaveProperty('quality');
    expect(now.isValid(record(null))).toBe(true);
  });
});
