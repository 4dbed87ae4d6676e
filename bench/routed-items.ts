/** Batch items as the inference consumer receives them, for benches that drive processBatch without Kafka. */
import type { KafkaMessage } from 'kafkajs';
import { fetchWithRetry } from '../inference-consumers/fetch/fetch-image.ts';
import type { BatchDeps, BatchItem } from '../inference-consumers/service/process-batch.ts';
import { TensorPool } from '../inference-consumers/service/tensor-pool.ts';
import type { LoadedModel } from '../models/loader/load-model.ts';
import { newImageRequest, type RequestOptions } from '../producers/image-request.ts';
import { BENCH_FETCH } from './in-process.ts';

export function routedItem(uri: string, version: string, o: RequestOptions = {}): BatchItem {
  const request = newImageRequest(uri, o);
  return {
    message: { offset: '0', key: null, value: null, timestamp: '0', attributes: 0, headers: {} } as KafkaMessage,
    request: { ...request, model_version: version, experiment_id: null, rule_id: null, shadow: false, routed_at: request.submitted_at },
  };
}

/** The consumer's defaults (fetch concurrency 16, top 5) with files fetched from data/ and bench/. */
export function benchBatchDeps(model: LoadedModel, batchSize: number, extra: Partial<BatchDeps> = {}): BatchDeps {
  return {
    model, tensors: new TensorPool(batchSize), limits: { maxPixels: 25_000_000 }, fetchConcurrency: 16, topK: 5, consumerId: 'bench',
    fetch: (uri: string) => fetchWithRetry(uri, BENCH_FETCH, { attempts: 1, baseMs: 1, capMs: 1 }),
    signal: new AbortController().signal,
    progress: () => undefined,
    ...extra,
  };
}
