import { performance } from 'node:perf_hooks';
import type { KafkaMessage } from 'kafkajs';
import type { LoadedModel } from '../../models/loader/load-model.ts';
import { mapWithConcurrency } from '../../platform/concurrency.ts';
import { classify, PipelineError, SystemicError, systemicOf } from '../../platform/errors.ts';
import { expiryError } from '../../platform/request-deadline.ts';
import type { RoutedRequest } from '../../router/routed-request.ts';
import type { FetchOutcome } from '../fetch/fetch-image.ts';
import { runBatch } from '../../models/runtime/run-batch.ts';
import { preprocessInto, type InputStats, type PreprocessLimits } from '../../models/runtime/preprocess/preprocess-image.ts';
import { buildPrediction, type Prediction } from './prediction.ts';
import { resultKey, type CachedResult, type ResultCache } from './result-cache.ts';
import type { BatchTracer } from './batch-tracing.ts';
import type { TensorPool } from './tensor-pool.ts';

export interface BatchItem {
  message: KafkaMessage;
  request: RoutedRequest;
}

export interface FailedItem {
  item: BatchItem;
  error: PipelineError;
  attempts: number;
}

export interface BatchResult {
  predictions: { item: BatchItem; prediction: Prediction }[];
  failed: FailedItem[];
  /** Seconds per stage summed over items (fetch, preprocess) or for the batch (inference). */
  stageSeconds: { fetch: number[]; preprocess: number[]; inference: number };
  /** Images that reached the model call. */
  inferred: number;
  /** Result cache lookups (both 0 with the cache off). */
  cache: { hits: number; misses: number };
}

export interface BatchDeps {
  model: LoadedModel;
  fetch: (uri: string, signal: AbortSignal) => Promise<FetchOutcome>;
  /** Aborted by the chunk watchdog: in-flight fetches stop and the results are discarded. */
  signal: AbortSignal;
  /** An item has been fetched and preprocessed (or has failed on its own): it made progress. */
  progress: (item: BatchItem) => void;
  /** Awaited before each item's fetch and before the model call (ChunkContext.checkpoint); absent: none. */
  checkpoint?: () => Promise<void>;
  tensors: TensorPool;
  limits: PreprocessLimits;
  fetchConcurrency: number;
  topK: number;
  consumerId: string;
  /** REQUEST_MAX_AGE_MS: the deadline of records that carry none, after their submitted_at; 0 or absent: none. */
  maxAgeMs?: number;
  /** Answers by image content for this model file; absent: every image is decoded and inferred. */
  cache?: ResultCache;
  /** Spans around each item's stages and the model call; absent: tracing is off. */
  tracer?: BatchTracer;
}

interface Filled {
  item: BatchItem;
  slot: number;
  stats: InputStats;
  fetchMs: number;
  preprocessMs: number;
  /** The result cache key of its bytes, when the cache is on. */
  key?: string;
}

interface Hit {
  item: BatchItem;
  cached: CachedResult;
  fetchMs: number;
}

/** A record whose bytes equal those of an earlier record of the same chunk: it takes that one's answer or failure. */
interface Follower {
  item: BatchItem;
  key: string;
  fetchMs: number;
  attempts: number;
}

/**
 * One chunk of a poll: images fetched and preprocessed concurrently (bounded) straight into one batch tensor,
 * one ONNX Runtime call, one Prediction per good record. A bad record becomes a FailedItem; the rest go on.
 * Infrastructure failures (the object store after its retries, the model session) throw a SystemicError: no
 * record is to blame, the chunk is retried later.
 */
export async function processBatch(items: BatchItem[], deps: BatchDeps): Promise<BatchResult> {
  const { manifest, session } = deps.model;
  const batchStartedAt = Date.now();
  const failed: FailedItem[] = [];
  const filled: Filled[] = [];
  const hits: Hit[] = [];
  let misses = 0;
  // Identical bytes twice in one chunk (a retry, a popular image) are decoded and inferred once.
  const leaders = new Set<string>();
  const followers: Follower[] = [];
  const leaderErrors = new Map<string, PipelineError>();
  const tensor = deps.tensors.acquire(manifest.input);
  let nextSlot = 0;
  try {
    // Records refused before any fetch leave in one synchronous pass: a backlog of expired requests costs no
    // promise or task per record.
    const pending = deps.signal.aborted ? [] : items.filter((item) => {
      const refused = refusal(item, deps, batchStartedAt);
      if (refused) {
        failed.push({ item, attempts: 1, error: refused });
        deps.progress(item);
      }
      return !refused;
    });
    await mapWithConcurrency(pending, deps.fetchConcurrency, async (item) => {
      await deps.checkpoint?.();
      if (deps.signal.aborted) return;
      // Checked again as each item's turn comes, since earlier fetches in the chunk take time too.
      const expired = expiryError(item.request, 'inference', Date.now(), deps.maxAgeMs ?? 0);
      if (expired) {
        failed.push({ item, attempts: 1, error: expired });
        deps.progress(item);
        return;
      }
      const t0 = performance.now();
      const fetch = () => deps.fetch(item.request.uri, deps.signal);
      const fetched = await (deps.tracer ? deps.tracer.stage(item, 'fetch', fetch) : fetch());
      const t1 = performance.now();
      if (!fetched.ok) {
        const systemic = systemicOf(fetched.error);
        if (systemic) throw systemic;
        failed.push({ item, error: fetched.error, attempts: fetched.attempts });
        deps.progress(item);
        return;
      }
      const key = deps.cache ? resultKey(deps.model.sha256, manifest.version, fetched.bytes) : undefined;
      const cached = key === undefined ? undefined : deps.cache?.get(key);
      if (cached) {
        hits.push({ item, cached, fetchMs: t1 - t0 });
        deps.progress(item);
        return;
      }
      if (key !== undefined && leaders.has(key)) {
        followers.push({ item, key, fetchMs: t1 - t0, attempts: fetched.attempts });
        deps.progress(item);
        return;
      }
      if (key !== undefined) {
        leaders.add(key);
        misses += 1;
      }
      // Slots are taken in completion order; a record failing in preprocessing leaves an unused slot.
      const slot = nextSlot++;
      try {
        const preprocess = () => preprocessInto(fetched.bytes, manifest.input, tensor, slot, deps.limits);
        const stats = await (deps.tracer ? deps.tracer.stage(item, 'preprocess', preprocess) : preprocess());
        filled.push({ item, slot, stats, fetchMs: t1 - t0, preprocessMs: performance.now() - t1, key });
      } catch (err) {
        const error = classify(err, 'preprocess', 'NotAnImage');
        if (key !== undefined) leaderErrors.set(key, error);
        failed.push({ item, error, attempts: fetched.attempts });
      }
      deps.progress(item);
    });
    const stageSeconds = {
      fetch: [...filled, ...hits, ...followers].map((f) => f.fetchMs / 1000), preprocess: filled.map((f) => f.preprocessMs / 1000), inference: 0,
    };
    for (const f of followers) {
      const error = leaderErrors.get(f.key);
      if (error) failed.push({ item: f.item, error, attempts: f.attempts });
    }
    const cache = { hits: hits.length + followers.filter((f) => !leaderErrors.has(f.key)).length, misses };
    const now = () => Date.now();
    const answered = hits.map((h) => ({
      item: h.item,
      prediction: buildPrediction(h.item.request, h.cached, h.cached.stats,
        { batchStartedAt, fetchMs: h.fetchMs, preprocessMs: 0, inferenceMs: 0 },
        { modelName: manifest.name, batchSize: 0, consumerId: deps.consumerId, now: now(), cached: true }),
    }));
    if (filled.length === 0) return { predictions: unexpired(answered, failed, deps.maxAgeMs ?? 0), failed, stageSeconds, inferred: 0, cache };

    await deps.checkpoint?.();
    const t2 = performance.now();
    let results;
    try {
      const run = () => runBatch(session, manifest, tensor, nextSlot, deps.topK);
      results = await (deps.tracer ? deps.tracer.modelCall(filled.map((f) => f.item), run) : run());
    } catch (err) {
      // Inputs are preprocessed into a fixed shape and range, so a failing call is the session's, not a record's.
      throw new SystemicError('model', `model ${manifest.name} ${manifest.version} failed on a batch of ${nextSlot}: ${(err as Error).message}`, { cause: err });
    }
    const inferenceMs = performance.now() - t2;
    stageSeconds.inference = inferenceMs / 1000;
    const inferredAt = now();
    const leaderOf = new Map(filled.filter((f) => f.key !== undefined).map((f) => [f.key as string, f]));
    const coalesced = followers.flatMap((f) => {
      const leader = leaderOf.get(f.key);
      if (!leader) return [];
      return [{
        item: f.item,
        prediction: buildPrediction(f.item.request, results[leader.slot] as (typeof results)[number], leader.stats,
          { batchStartedAt, fetchMs: f.fetchMs, preprocessMs: 0, inferenceMs: 0 },
          { modelName: manifest.name, batchSize: 0, consumerId: deps.consumerId, now: inferredAt, cached: true }),
      }];
    });
    const predictions = filled.map((f) => {
      const result = results[f.slot] as (typeof results)[number];
      if (f.key !== undefined) deps.cache?.set(f.key, { top: result.top, stats: f.stats });
      return {
        item: f.item,
        prediction: buildPrediction(f.item.request, result, f.stats,
          { batchStartedAt, fetchMs: f.fetchMs, preprocessMs: f.preprocessMs, inferenceMs },
          { modelName: manifest.name, batchSize: filled.length, consumerId: deps.consumerId, now: inferredAt, cached: false }),
      };
    });
    return { predictions: unexpired([...answered, ...predictions, ...coalesced], failed, deps.maxAgeMs ?? 0), failed, stageSeconds, inferred: filled.length, cache };
  } finally {
    deps.tensors.release(tensor, manifest.input);
  }
}

/** Why a record is dead-lettered before its fetch: routed to another version or model, or expired at `now`. */
function refusal(item: BatchItem, deps: BatchDeps, now: number): PipelineError | undefined {
  const { manifest } = deps.model;
  if (item.request.model_version !== manifest.version) {
    return new PipelineError('inference', 'UnknownVersion',
      `record is routed to version "${item.request.model_version}" but this consumer serves "${manifest.version}"; check the router's experiment and the consumer's MODEL_VERSION`);
  }
  if (item.request.model != null && item.request.model !== manifest.name) {
    return new PipelineError('inference', 'UnknownModel',
      `record is routed for model "${item.request.model}" but this consumer serves "${manifest.name}"; check the consumer's MODEL_NAME`);
  }
  return expiryError(item.request, 'inference', now, deps.maxAgeMs ?? 0);
}

/**
 * The predictions whose deadline has not passed now; the others join `failed` as Expired. A record checked in
 * time before its fetch may expire during its batch's model call: no one waits for its answer any more, and
 * the dead letter tells a reader so instead of a late prediction.
 */
function unexpired(predictions: BatchResult['predictions'], failed: FailedItem[], maxAgeMs: number): BatchResult['predictions'] {
  const now = Date.now();
  return predictions.filter(({ item }) => {
    const expired = expiryError(item.request, 'inference', now, maxAgeMs, 'it expired during its batch, so its prediction was dropped');
    if (expired) failed.push({ item, attempts: 1, error: expired });
    return !expired;
  });
}
