import { hostname, homedir } from 'node:os';
import { join, resolve } from 'node:path';
import type { EnvReader } from '../../platform/config.ts';
import { groupIdFor } from '../../platform/kafka-config.ts';
import type { RetryPolicy } from '../../platform/retry.ts';
import { readResultCacheSettings, type ResultCacheSettings } from './result-cache.ts';
import { readRequestMaxAgeMs } from '../../platform/request-deadline.ts';
import { readS3Settings, type S3Settings } from '../../platform/s3.ts';
import { readCommonSettings, type CommonSettings } from '../../platform/service-config.ts';
import { HIGH_LANE_SUFFIX, MODEL_NAME_PATTERN, servingLabel } from '../../platform/topics.ts';
import { readLaneSettings, type LaneSettings } from '../../platform/consumer/lane-scheduler.ts';
import type { FetchPolicy } from '../fetch/fetch-image.ts';
import type { ExecutionProvider, SessionConfig } from '../../models/runtime/session.ts';

export interface InferenceSettings extends CommonSettings {
  s3: S3Settings;
  /** MODEL_NAME: the model this consumer serves; unset, the deployment's default one (any manifest name accepted). */
  modelName: string | undefined;
  modelVersion: string;
  /** The version as topics and groups name it (platform/topics.ts servingLabel): `v1`, or `text-orientation.v1`. */
  servingLabel: string;
  modelUri: string;
  modelCacheDir: string;
  groupId: string;
  consumerId: string;
  maxBatchSize: number;
  /** Blank batches of maxBatchSize run through a loaded model before it serves; 0: none. */
  warmupBatches: number;
  maxWaitMs: number;
  /** kafkajs fetch sizing, spread into the consumer's config (MAX_WAIT_MS included). */
  consumerFetch: { minBytes: number; maxBytes: number; maxBytesPerPartition: number; maxWaitTimeInMs: number };
  partitionsConcurrently: number;
  fetchConcurrency: number;
  fetch: FetchPolicy;
  retry: RetryPolicy;
  maxPixels: number;
  topK: number;
  /** REQUEST_MAX_AGE_MS: records without a deadline expire this long after submitted_at; 0: never. */
  requestMaxAgeMs: number;
  resultCache: ResultCacheSettings;
  /** Priority lanes: the high lane goes first, the normal lane keeps PRIORITY_NORMAL_MIN_SHARE. */
  lanes: LaneSettings;
  session: SessionConfig;
  admin: {
    /** Bearer token for POST /admin/reload; undefined: the endpoint is off. */
    token: string | undefined;
    /** Model locations a reload may load from. */
    allowedPrefixes: string[];
  };
}

const VERSION = /^[a-zA-Z0-9._-]+$/;

export function readInferenceSettings(env: EnvReader): InferenceSettings {
  const modelVersion = env.string('MODEL_VERSION', 'v1');
  env.check(VERSION.test(modelVersion) && !modelVersion.endsWith(HIGH_LANE_SUFFIX), 'MODEL_VERSION', modelVersion, `a version name of letters, digits, ".", "_" or "-" (e.g. v1), not ending in "${HIGH_LANE_SUFFIX}" (the high lane's topic suffix)`);
  const modelName = env.optionalString('MODEL_NAME');
  env.check(modelName === undefined || MODEL_NAME_PATTERN.test(modelName), 'MODEL_NAME', modelName ?? '', 'a model name of letters, digits, "_" or "-" (no "."), e.g. text-orientation');
  const maxWaitMs = env.int('MAX_WAIT_MS', 50, { min: 0, max: 60_000 });
  const providers = env.list('ORT_EXECUTION_PROVIDERS', ['cpu'], { regex: /^(cpu|cuda)$/, expected: 'cpu or cuda (e.g. cuda,cpu)' });
  const common = readCommonSettings(env, `inference-${modelName === undefined ? '' : `${modelName}.`}${modelVersion}`, 9102);
  const label = servingLabel(modelVersion, modelName, common.defaultModel);
  const modelUri = env.string('MODEL_URI', `models/${modelName ?? common.defaultModel}/${modelVersion}`);
  const adminToken = env.optionalString('ADMIN_TOKEN');
  env.check(adminToken === undefined || adminToken.length >= 16, 'ADMIN_TOKEN', '(hidden)', 'at least 16 characters, or unset to turn POST /admin/reload off');
  return {
    ...common,
    s3: readS3Settings(env),
    modelName,
    modelVersion,
    servingLabel: label,
    modelUri,
    modelCacheDir: env.string('MODEL_CACHE_DIR', join(homedir(), '.cache', 'imgpipe', 'models')),
    groupId: env.string('CONSUMER_GROUP_ID', groupIdFor(common.kafka.topicPrefix, `inference-${label}`)),
    consumerId: env.string('CONSUMER_ID', `${hostname()}-${process.pid}`),
    maxBatchSize: env.int('MAX_BATCH_SIZE', 32, { min: 1, max: 4_096 }),
    // One call leaves the first real batches about half of their extra cost; three bring the first to steady
    // state (bench/warm-up-latency.ts).
    warmupBatches: env.int('WARMUP_BATCHES', 3, { min: 0, max: 100 }),
    maxWaitMs,
    // kafkajs' defaults; a larger minBytes trades latency for fuller batches under light load.
    consumerFetch: {
      minBytes: env.int('CONSUMER_FETCH_MIN_BYTES', 1, { min: 1 }),
      maxBytes: env.int('CONSUMER_FETCH_MAX_BYTES', 10 * 1024 * 1024, { min: 1_024 }),
      maxBytesPerPartition: env.int('CONSUMER_FETCH_MAX_BYTES_PER_PARTITION', 1024 * 1024, { min: 1_024 }),
      maxWaitTimeInMs: maxWaitMs,
    },
    partitionsConcurrently: env.int('PARTITIONS_CONSUMED_CONCURRENTLY', 2, { min: 1, max: 64 }),
    fetchConcurrency: env.int('FETCH_CONCURRENCY', 16, { min: 1, max: 1_024 }),
    fetch: {
      maxBytes: env.int('FETCH_MAX_BYTES', 10 * 1024 * 1024, { min: 1 }),
      timeoutMs: env.int('FETCH_TIMEOUT_MS', 5_000, { min: 1 }),
      allowedHosts: env.list('FETCH_ALLOWED_HOSTS', []),
      allowedFileRoots: env.list('FETCH_FILE_ROOTS', [resolve('data')]).map((r) => resolve(r)),
      // Off for network file systems, where a synchronous read could block the consumer.
      syncFileReads: env.bool('FETCH_FILE_SYNC', true),
      maxRedirects: env.int('FETCH_MAX_REDIRECTS', 3, { min: 0, max: 20 }),
    },
    retry: {
      attempts: env.int('RETRY_ATTEMPTS', 4, { min: 1, max: 20 }),
      baseMs: env.int('RETRY_BASE_MS', 100, { min: 1 }),
      capMs: env.int('RETRY_CAP_MS', 2_000, { min: 1 }),
    },
    maxPixels: env.int('MAX_PIXELS', 25_000_000, { min: 1 }),
    topK: env.int('TOP_K', 5, { min: 1, max: 1_000 }),
    requestMaxAgeMs: readRequestMaxAgeMs(env),
    resultCache: readResultCacheSettings(env),
    lanes: readLaneSettings(env),
    session: {
      intraOpThreads: env.int('ORT_INTRA_OP_THREADS', 0, { min: 0, max: 256 }),
      interOpThreads: env.int('ORT_INTER_OP_THREADS', 1, { min: 0, max: 256 }),
      allowSpinning: env.bool('ORT_ALLOW_SPINNING', false),
      graphOptimizationLevel: env.oneOf('ORT_GRAPH_OPTIMIZATION', ['disabled', 'basic', 'extended', 'all'] as const, 'all'),
      executionProviders: providers as ExecutionProvider[],
    },
    admin: {
      token: adminToken,
      // Reloads re-read the configured location by default (a new file uploaded there); widen it explicitly.
      allowedPrefixes: env.list('MODEL_URI_ALLOWED_PREFIXES', [modelUri]),
    },
  };
}
