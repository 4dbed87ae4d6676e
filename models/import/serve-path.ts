/**
 * Scores sample images exactly as an inference consumer does: the model loaded by the serving loader
 * (manifest validated, sha256 checked), each image preprocessed into its batch slot by the consumer's
 * preprocessInto, one runBatch call per batch. An image serving would dead-letter is reported, not fatal.
 */
import type { LoadedModel } from '../loader/load-model.ts';
import { runBatch } from '../runtime/run-batch.ts';
import { allocateBatch } from '../runtime/preprocess/batch-tensor.ts';
import { preprocessInto, type InputStats } from '../runtime/preprocess/preprocess-image.ts';
import type { ScoredSample } from './reference.ts';
import type { SampleSource } from './samples.ts';

export interface ServedSample extends ScoredSample {
  image: string;
  label: string;
  score: number;
  probabilities: Float32Array;
}

export interface ServingScores {
  served: ServedSample[];
  failed: Array<{ image: string; error: string }>;
}

export interface ScoreOptions {
  batchSize: number;
  /** The consumer's MAX_PIXELS. */
  maxPixels: number;
  onProgress?: (done: number, total: number) => void;
}

export async function scoreThroughServing(model: Pick<LoadedModel, 'session' | 'manifest'>, samples: SampleSource, options: ScoreOptions): Promise<ServingScores> {
  const { manifest, session } = model;
  const batch = allocateBatch(manifest.input, options.batchSize);
  const served: ServedSample[] = [];
  const failed: ServingScores['failed'] = [];
  const ids = samples.ids;
  for (let start = 0; start < ids.length; start += options.batchSize) {
    const slots: Array<{ image: string; stats: InputStats }> = [];
    for (const image of ids.slice(start, start + options.batchSize)) {
      try {
        const stats = await preprocessInto(await samples.read(image), manifest.input, batch, slots.length, { maxPixels: options.maxPixels });
        slots.push({ image, stats });
      } catch (err) {
        failed.push({ image, error: err instanceof Error ? err.message : String(err) });
      }
    }
    if (slots.length > 0) {
      const predictions = await runBatch(session, manifest, batch, slots.length, 1);
      predictions.forEach((p, i) => {
        const top = p.top[0]!;
        const { image, stats } = slots[i]!;
        served.push({ image, index: top.index, label: top.label, score: top.score, confidence: top.score, probabilities: p.probabilities, brightness: stats.brightness, contrast: stats.contrast });
      });
    }
    options.onProgress?.(Math.min(start + options.batchSize, ids.length), ids.length);
  }
  return { served, failed };
}
