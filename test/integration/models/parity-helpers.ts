/**
 * Helpers of the model integration tests: Fashion-MNIST sample images written by scripts/samples,
 * and the serving path (file fetch → sharp preprocessing → one ONNX Runtime call per batch) run over them.
 */
import path from 'node:path';
import { pathToFileURL } from 'node:url';
import { pino } from 'pino';
import { fetchWithRetry, type FetchPolicy } from '../../../inference-consumers/fetch/fetch-image.ts';
import { runBatch } from '../../../models/runtime/run-batch.ts';
import type { SessionConfig } from '../../../models/runtime/session.ts';
import { allocateBatch } from '../../../models/runtime/preprocess/batch-tensor.ts';
import { preprocessInto } from '../../../models/runtime/preprocess/preprocess-image.ts';
import type { LoadedModel } from '../../../models/loader/load-model.ts';
import { mapWithConcurrency } from '../../../platform/concurrency.ts';
import { writeSamples } from '../../../scripts/samples/write-samples.ts';

export const REPO = path.resolve(import.meta.dirname, '../../..');
export const MODEL_DIR = (version: string) => path.join(REPO, 'models', 'fashion-mnist', version);
export const logger = pino({ level: 'silent' });
export const sessionConfig: SessionConfig = { intraOpThreads: 0, interOpThreads: 1, graphOptimizationLevel: 'all', executionProviders: ['cpu'] };

export interface Sample {
  file: string;
  label: number;
}

/** Writes (once) the first `count` test images as lossless PNGs under data/samples/ and returns them. */
export async function paritySamples(count: number): Promise<{ dir: string; samples: Sample[] }> {
  const set = await writeSamples(path.join(REPO, 'data', 'samples', `parity-${count}`), 'lossless', count);
  return { dir: set.dir, samples: set.samples.map((s) => ({ file: path.join(set.dir, s.file), label: s.labelIndex })) };
}

export interface Classified {
  predicted: number[];
  correct: number;
  accuracy: number;
}

/** Runs the serving path over the samples in batches; every failure is thrown, none skipped. */
export async function classify(model: LoadedModel, samples: Sample[], root: string, batchSize = 64): Promise<Classified> {
  const policy: FetchPolicy = { maxBytes: 1 << 20, timeoutMs: 5000, allowedHosts: [], allowedFileRoots: [root], syncFileReads: true, maxRedirects: 0 };
  const batch = allocateBatch(model.manifest.input, batchSize);
  const predicted: number[] = [];
  for (let start = 0; start < samples.length; start += batchSize) {
    const chunk = samples.slice(start, start + batchSize);
    await mapWithConcurrency(chunk, 8, async (sample, slot) => {
      const fetched = await fetchWithRetry(pathToFileURL(sample.file).href, policy, { attempts: 1, baseMs: 1, capMs: 1 });
      if (!fetched.ok) throw fetched.error;
      await preprocessInto(fetched.bytes, model.manifest.input, batch, slot, { maxPixels: 1_000_000 });
    });
    const results = await runBatch(model.session, model.manifest, batch, chunk.length, 1);
    for (const result of results) predicted.push(result.top[0]?.index ?? -1);
  }
  const correct = predicted.filter((p, i) => p === samples[i]?.label).length;
  return { predicted, correct, accuracy: correct / samples.length };
}
