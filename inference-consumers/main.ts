/** An inference consumer: one process of the consumer group of one model version (of MODEL_NAME, or the default model). Scale by running more. */
import { loadModel, type LoadedModel } from '../models/loader/load-model.ts';
import { ModelRegistry } from '../models/loader/model-registry.ts';
import { connectClients } from '../platform/clients.ts';
import { startLanedStreamLoops } from '../platform/consumer/laned-stream-loops.ts';
import { createKafka, ensureTopics, produceBudget } from '../platform/kafka.ts';
import { createS3Client } from '../platform/s3.ts';
import { runService } from '../platform/service.ts';
import { fetchWithRetry } from './fetch/fetch-image.ts';
import { identityProblem, reloadRoute } from './service/admin-reload.ts';
import { inferChunkProcessor } from './service/infer-chunk.ts';
import { createInferenceMetrics } from './service/metrics.ts';
import { ResultCache } from './service/result-cache.ts';
import { readInferenceSettings } from './service/settings.ts';
import { TensorPool } from './service/tensor-pool.ts';
import { warmUp } from './service/warm-up.ts';

await runService({
  name: 'inference-consumer',
  readSettings: readInferenceSettings,
  opsEndpoint: (s) => s.ops,
  async start(s, { logger, registry, fatal }) {
    const log = logger.child({ model: s.modelName, version: s.modelVersion, consumer: s.consumerId });
    const metrics = createInferenceMetrics(registry);
    const s3 = createS3Client(s.s3);
    const label = s.servingLabel;
    // Every model this consumer loads must be the model (MODEL_NAME, when set) and version it consumes (records are routed by both), and is
    // warmed up before it serves: at start before the consumer subscribes (/readyz stays 503 until then), on a
    // reload before it replaces the serving model.
    const loader = async (uri: string): Promise<LoadedModel> => {
      const model = await loadModel(uri, { session: s.session, logger: log, s3, cacheDir: s.modelCacheDir });
      const serving = models.get(label)?.manifest ?? { name: s.modelName ?? model.manifest.name, version: s.modelVersion };
      const problem = identityProblem(serving, model.manifest);
      try {
        if (problem) throw new Error(`${uri}: ${problem}`);
        if (s.warmupBatches > 0) {
          const seconds = await warmUp(model, s.maxBatchSize, s.warmupBatches);
          metrics.warmupSeconds.set({ version: label }, seconds);
          log.info({ uri, batch: s.maxBatchSize, calls: s.warmupBatches, seconds }, 'model warmed up');
        }
      } catch (err) {
        await model.session.release();
        throw err;
      }
      return model;
    };
    const models = new ModelRegistry(loader, log);
    const cache = s.resultCache.enabled ? new ResultCache(s.resultCache) : undefined;
    const load = async (uri: string): Promise<LoadedModel> => {
      try {
        const previous = models.get(label);
        const model = await models.load(label, uri);
        // Keys name the model file, but a manifest edited beside an unchanged file must not meet old answers either.
        cache?.clear();
        if (previous) metrics.modelLoaded.remove({ version: label, sha256: previous.sha256, provider: previous.provider });
        metrics.modelLoaded.set({ version: label, sha256: model.sha256, provider: model.provider }, 1);
        return model;
      } catch (err) {
        metrics.modelLoadFailures.inc({ version: label });
        throw err;
      }
    };
    await load(s.modelUri);

    const clients = await connectClients(s, log);
    const { topics, serde, producer } = clients;
    // The router creates version topics too; whichever starts first must not find the topic missing.
    // Its normal topic and its high-priority lane.
    const laneTopics = { normal: topics.requestsFor(label, null, 'normal'), high: topics.requestsFor(label, null, 'high') };
    await ensureTopics(clients.admin, Object.values(laneTopics).map((topic) => ({ topic })), s.kafka, log);
    const aborter = new AbortController();
    const fetch = (uri: string, signal: AbortSignal) => fetchWithRetry(uri, s.fetch, s.retry, { s3, signal: AbortSignal.any([aborter.signal, signal]) }, (err, attempt, delayMs) => {
      metrics.fetchRetries.inc({ version: label, error_class: err.errorClass });
      log.debug({ uri, attempt, delayMs, errorClass: err.errorClass }, 'retrying fetch');
    });
    const budgetBytes = await produceBudget(clients.admin, [topics.predictions, topics.dlq], s.stream.produceMaxBytes);
    const loop = await startLanedStreamLoops({
      service: `inference-${label}`, kafka: clients.kafka, admin: clients.admin, producer, serde, dlqTopic: topics.dlq,
      groupId: s.groupId, topics: laneTopics, lanes: s.lanes, highLaneKafka: () => createKafka(s.kafka, log),
      consumerConfig: s.consumerFetch,
      process: inferChunkProcessor({
        serde, models, label, predictionsTopic: topics.predictions, metrics, consumerGroup: s.groupId,
        batch: {
          fetch, tensors: new TensorPool(s.maxBatchSize), limits: { maxPixels: s.maxPixels },
          fetchConcurrency: s.fetchConcurrency, topK: s.topK, consumerId: s.consumerId, maxAgeMs: s.requestMaxAgeMs, cache,
        },
      }),
      delivery: s.stream.delivery, stage: 'inference', maxBatchSize: s.maxBatchSize,
      partitionsConsumedConcurrently: s.partitionsConcurrently, settings: s.stream, budgetBytes,
      onDeadLetters: (failed) => {
        for (const d of failed) metrics.deadLetters.inc({ version: label, stage: d.error.stage, error_class: d.error.errorClass });
      },
      logger: log, registry, fatal,
    });
    log.info({ group: s.groupId, delivery: s.stream.delivery, budgetBytes, resultCache: s.resultCache.enabled ? s.resultCache : 'off' }, 'consuming');

    return {
      ready: () => loop.ready() && models.get(label) !== undefined,
      routes: {
        // Swaps this version's model file without a restart: POST /admin/reload[?uri=s3://images/models/fashion-mnist/v1]
        '/admin/reload': reloadRoute({ token: s.admin.token, allowedPrefixes: s.admin.allowedPrefixes, defaultUri: s.modelUri, load }),
      },
      stopSteps: [
        { name: 'consumer', stop: () => loop.stop() },
        { name: 'fetches', stop: async () => aborter.abort() },
        { name: 'kafka-clients', stop: () => clients.close() },
        { name: 'models', stop: () => models.close() },
      ],
    };
  },
});
