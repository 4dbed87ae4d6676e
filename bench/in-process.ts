import { performance } from 'node:perf_hooks';
import { resolve } from 'node:path';
import type { KafkaMessage } from 'kafkajs';
import { fetchWithRetry } from '../inference-consumers/fetch/fetch-image.ts';
import { defaultSessionConfig } from '../models/runtime/session.ts';
import { processBatch } from '../inference-consumers/service/process-batch.ts';
import { TensorPool } from '../inference-consumers/service/tensor-pool.ts';
import { loadModel, type LoadedModel } from '../models/loader/load-model.ts';
import { createLogger } from '../platform/logger.ts';
import { newImageRequest } from '../producers/image-request.ts';
import type { RoutedRequest } from '../router/routed-request.ts';

export const BENCH_FETCH = { maxBytes: 10 * 1024 * 1024, timeoutMs: 5_000, allowedHosts: [], allowedFileRoots: [resolve('data'), resolve('bench')], syncFileReads: true, maxRedirects: 0 };

export async function loadBenchModel(dir: string): Promise<LoadedModel> {
  return loadModel(dir, { session: defaultSessionConfig, logger: createLogger('bench', 'warn') });
}

/**
 * The consumer's per-batch work without Kafka: the same processBatch (fetch, sharp, one ONNX Runtime call) over
 * the same images, with as many chunks in flight as the consumer's default (two partitions at once).
 */
export async function inProcessThroughput(model: LoadedModel, uris: string[], batchSize: number, inFlight = 2): Promise<number> {
  const version = model.manifest.version;
  const items = uris.map((uri) => ({
    message: { offset: '0', key: null, value: null, timestamp: '0', attributes: 0, headers: {} } as KafkaMessage,
    request: { ...newImageRequest(uri), model_version: version, experiment_id: null, rule_id: null, shadow: false, routed_at: Date.now() } as RoutedRequest,
  }));
  const deps = {
    model, tensors: new TensorPool(batchSize), limits: { maxPixels: 25_000_000 }, fetchConcurrency: 16, topK: 5, consumerId: 'bench',
    fetch: (uri: string) => fetchWithRetry(uri, BENCH_FETCH, { attempts: 1, baseMs: 1, capMs: 1 }),
    signal: new AbortController().signal,
    progress: () => undefined,
  };
  // Warm-up: first calls pay for allocation and graph preparation.
  await processBatch(items.slice(0, batchSize), deps);
  let next = 0;
  let done = 0;
  const started = performance.now();
  const worker = async (): Promise<void> => {
    while (next < items.length) {
      const chunk = items.slice(next, next + batchSize);
      next += batchSize;
      const result = await processBatch(chunk, deps);
      if (result.failed.length > 0) throw new Error(`in-process benchmark: ${result.failed[0]?.error.message}`);
      done += result.predictions.length;
    }
  };
  await Promise.all(Array.from({ length: inFlight }, worker));
  return done / ((performance.now() - started) / 1000);
}
