/** An inference consumer: one process of the consumer group of one model version. Scale by running more. */
import type { Batch } from 'kafkajs';
import { loadModel, type LoadedModel } from '../models/loader/load-model.ts';
import { ModelRegistry } from '../models/loader/model-registry.ts';
import { groupMembership, runBatchLoop } from '../platform/batch-consumer.ts';
import { connectClients } from '../platform/clients.ts';
import { DeadLetterPublisher } from '../platform/dead-letter.ts';
import { decodeChunk } from '../platform/decode-batch.ts';
import { HEADER, headersToStrings } from '../platform/headers.ts';
import { ensureTopics } from '../platform/kafka.ts';
import { createS3Client } from '../platform/s3.ts';
import { runService } from '../platform/service.ts';
import { childTraceparent, TRACEPARENT } from '../platform/trace.ts';
import type { RoutedRequest } from '../router/routed-request.ts';
import { fetchWithRetry } from './fetch/fetch-image.ts';
import { createInferenceMetrics } from './service/metrics.ts';
import { processBatch } from './service/process-batch.ts';
import { readInferenceSettings } from './service/settings.ts';
import { TensorPool } from './service/tensor-pool.ts';

await runService({
  name: 'inference-consumer',
  readSettings: readInferenceSettings,
  opsEndpoint: (s) => s.ops,
  async start(s, { logger, registry }) {
    const log = logger.child({ version: s.modelVersion, consumer: s.consumerId });
    const metrics = createInferenceMetrics(registry);
    const s3 = createS3Client(s.s3);
    const label = s.modelVersion;
    const models = new ModelRegistry((uri) => loadModel(uri, { session: s.session, logger: log, s3, cacheDir: s.modelCacheDir }), log);
    const load = async (uri: string): Promise<LoadedModel> => {
      try {
        const previous = models.get(label);
        const model = await models.load(label, uri);
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
    await ensureTopics(clients.admin, [{ topic: topics.requestsFor(label) }], s.kafka, log);
    const dlq = new DeadLetterPublisher(producer, serde, topics.dlq, `inference-${label}`);
    const tensors = new TensorPool(s.maxBatchSize);
    const aborter = new AbortController();
    const fetch = (uri: string) => fetchWithRetry(uri, s.fetch, s.retry, { s3, signal: aborter.signal }, (err, attempt, delayMs) => {
      metrics.fetchRetries.inc({ version: label, error_class: err.errorClass });
      log.debug({ uri, attempt, delayMs, errorClass: err.errorClass }, 'retrying fetch');
    });

    const handle = async (chunk: Batch['messages'], batch: Batch): Promise<void> => {
      metrics.consumed.inc({ version: label }, chunk.length);
      const { decoded, failed } = await decodeChunk<RoutedRequest>(serde, batch.topic, batch.partition, chunk);
      const result = await models.use(label, (model) => processBatch(
        decoded.map((d) => ({ message: d.message, request: d.value })),
        { model, fetch, tensors, limits: { maxPixels: s.maxPixels }, fetchConcurrency: s.fetchConcurrency, topK: s.topK, consumerId: s.consumerId },
      ));
      const produceTimer = metrics.stageSeconds.startTimer({ version: label, stage: 'produce' });
      const messages = await Promise.all(result.predictions.map(async ({ item, prediction }) => {
        const headers = headersToStrings(item.message.headers);
        return {
          key: prediction.request_id,
          value: await serde.encode(topics.predictions, 'Prediction', prediction),
          headers: {
            [TRACEPARENT]: childTraceparent(headers[TRACEPARENT]),
            [HEADER.requestId]: prediction.request_id,
            [HEADER.modelVersion]: prediction.model_version,
            [HEADER.shadow]: String(prediction.shadow),
            ...(prediction.experiment_id ? { [HEADER.experimentId]: prediction.experiment_id } : {}),
          },
        };
      }));
      const dead = [
        ...failed,
        ...result.failed.map((f) => ({
          topic: batch.topic, partition: batch.partition, message: f.item.message, error: f.error,
          requestId: f.item.request.request_id, modelVersion: f.item.request.model_version, attempts: f.attempts,
        })),
      ];
      // Both acknowledged before the loop commits this chunk's offsets: at-least-once.
      await Promise.all([
        messages.length > 0 ? producer.send({ topic: topics.predictions, acks: -1, messages }) : Promise.resolve(),
        dlq.publish(dead),
      ]);
      produceTimer();
      if (result.inferred > 0) metrics.batchSize.observe({ version: label }, result.inferred);
      for (const v of result.stageSeconds.fetch) metrics.stageSeconds.observe({ version: label, stage: 'fetch' }, v);
      for (const v of result.stageSeconds.preprocess) metrics.stageSeconds.observe({ version: label, stage: 'preprocess' }, v);
      if (result.inferred > 0) metrics.stageSeconds.observe({ version: label, stage: 'inference' }, result.stageSeconds.inference);
      for (const { prediction } of result.predictions) {
        metrics.predictions.inc({ version: label, shadow: String(prediction.shadow) });
        metrics.endToEndSeconds.observe({ version: label, shadow: String(prediction.shadow) }, prediction.timings.total_ms / 1000);
      }
      for (const d of dead) metrics.deadLetters.inc({ version: label, stage: d.error.stage, error_class: d.error.errorClass });
    };

    const consumer = clients.kafka.consumer({
      groupId: s.groupId,
      ...s.consumerFetch,
      // Long batches (a slow fetch) must not look like a dead member; heartbeats also run during a batch.
      sessionTimeout: 30_000,
      heartbeatInterval: 3_000,
    });
    const joined = groupMembership(consumer);
    await consumer.connect();
    await runBatchLoop({
      consumer, topics: [topics.requestsFor(label)], logger: log, registry, maxBatchSize: s.maxBatchSize, handle,
      partitionsConsumedConcurrently: s.partitionsConcurrently,
    });

    return {
      ready: () => joined() && models.get(label) !== undefined,
      routes: {
        // Loads a new model file for this version without a restart: POST /admin/reload?uri=s3://models/fashion-mnist/v1
        '/admin/reload': async (req, res) => {
          if (req.method !== 'POST') return void res.writeHead(405).end('use POST\n');
          const uri = new URL(req.url ?? '', 'http://x').searchParams.get('uri') ?? s.modelUri;
          try {
            const model = await load(uri);
            res.writeHead(200, { 'content-type': 'application/json' }).end(`${JSON.stringify({ version: label, sha256: model.sha256, uri })}\n`);
          } catch (err) {
            res.writeHead(422, { 'content-type': 'text/plain' }).end(`reload refused, the previous model keeps serving: ${(err as Error).message}\n`);
          }
        },
      },
      stopSteps: [
        { name: 'consumer', stop: () => consumer.disconnect() },
        { name: 'fetches', stop: async () => aborter.abort() },
        { name: 'kafka-clients', stop: () => clients.close() },
        { name: 'models', stop: () => models.close() },
      ],
    };
  },
});
