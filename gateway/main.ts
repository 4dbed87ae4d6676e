/**
 * The Open Inference Protocol v2 gateway: HTTP inference requests become ImageRequests on images.requests
 * (uploaded images stored in S3 first), and the prediction that comes back on images.predictions (or the dead
 * letter on images.dlq) becomes the HTTP answer.
 */
import type { Server } from 'node:http';
import { fileURLToPath } from 'node:url';
import { HeadBucketCommand } from '@aws-sdk/client-s3';
import type { Prediction } from '../inference-consumers/service/prediction.ts';
import { connectClients } from '../platform/clients.ts';
import { createS3Client } from '../platform/s3.ts';
import { runService } from '../platform/service.ts';
import { RequestPublisher } from '../producers/publisher.ts';
import { Authenticator } from './http/auth.ts';
import { GatewayServer, type ResponseMeta } from './http/gateway-server.ts';
import { openApiDocument } from './http/openapi-document.ts';
import { RateLimiter } from './http/rate-limiter.ts';
import { createGatewayMetrics } from './metrics.ts';
import { loadCatalog } from './model-catalog.ts';
import { pageFiles } from './page/assets.ts';
import { RequestTracker } from './pipeline/request-tracker.ts';
import { servedPart, type ServedPrediction } from './protocol/infer-response.ts';
import { ResultListener } from './pipeline/result-listener.ts';
import { Submitter } from './pipeline/submitter.ts';
import { serverVersion } from './server-version.ts';
import { readGatewaySettings } from './settings.ts';

await runService({
  name: 'gateway',
  readSettings: readGatewaySettings,
  opsEndpoint: (s) => s.ops,
  async start(s, { logger, registry, fatal }) {
    const catalog = await loadCatalog(s.modelsDir);
    logger.info({ models: catalog.names.map((n) => `${n}: ${catalog.versions(n).join(', ')}`) }, 'model manifests loaded');
    if (s.anonymous) logger.warn('GATEWAY_ANONYMOUS=true: requests without a token are accepted; do not expose this gateway beyond this machine');

    const s3 = createS3Client(s.s3);
    await s3.send(new HeadBucketCommand({ Bucket: s.s3.bucket })).catch((err: unknown) => {
      throw new Error(`bucket ${s.s3.bucket} is not reachable at ${s.s3.endpoint ?? 'AWS S3'} (${(err as Error).name}: ${(err as Error).message}); create it or fix S3_BUCKET / S3_ENDPOINT`, { cause: err });
    });
    // A request waits on its publish: a broker that stays away answers 503 within seconds instead of hanging.
    // Not idempotent: kafkajs warns that bounded retries void its guarantees; a duplicate only yields a prediction the tracker ignores.
    const clients = await connectClients(s, logger, { idempotent: false, retry: { retries: 5, initialRetryTime: 100, maxRetryTime: 1_000 } });
    // Registered now, so the first request does not pay for it and a registry that is away stops the start.
    await clients.serde.schemaIdFor(clients.topics.requests, 'ImageRequest');
    const tracker = new RequestTracker<Prediction, ResponseMeta, ServedPrediction>({
      maxTracked: s.maxTracked, maxTrackedPerClient: s.maxTrackedPerClient, ttlMs: s.resultTtlMs, keep: servedPart,
      // The client is told the stage and class only; the dead letter's own words are for operators.
      onDeadLetter: (d, r) => logger.info({ requestId: d.requestId, inferenceId: r.inferenceId, client: r.client, stage: d.stage, errorClass: d.errorClass, reason: d.message }, 'request dead-lettered'),
    });
    const metrics = createGatewayMetrics(registry, () => ({ tracked: tracker.tracked, waiting: tracker.waiting }));
    const listener = new ResultListener({
      kafka: clients.kafka, serde: clients.serde, topics: clients.topics, topicPrefix: s.kafka.topicPrefix, tracker, logger, fatal,
      onSettled: (kind, d) => {
        metrics.settled.inc({ result: kind });
        if (d) metrics.deadLetters.inc({ stage: d.stage, error_class: d.errorClass });
      },
    });
    await listener.start();
    const sweeper = setInterval(() => tracker.sweep(), 1_000);
    sweeper.unref();

    const submitter = new Submitter({
      s3, bucket: s.s3.bucket, uploadPrefix: s.uploadPrefix,
      publisher: new RequestPublisher(clients.producer, clients.serde, clients.topics),
    });
    const gateway = new GatewayServer({
      catalog, tracker, logger, metrics,
      submit: (submission, onStage) => submitter.submit(submission, onStage),
      auth: new Authenticator(s.tokens, s.anonymous),
      limiter: new RateLimiter(s.rate.perSecond, s.rate.burst),
      ready: () => listener.ready,
      limits: {
        maxBatch: s.maxBatch, maxStringBytes: s.maxStringBytes, maxBodyBytes: s.maxBodyBytes, maxInFlightPerClient: s.maxInFlightPerClient,
        uri: { schemes: s.uriSchemes, allow: s.uriAllow, maxUriBytes: s.maxUriBytes },
        timeoutMs: s.timeoutMs, resultTtlMs: s.resultTtlMs, highPriorityClients: s.highPriorityClients,
      },
      server: { name: 'kafka-image-inference-gateway', version: serverVersion() },
      openapi: openApiDocument(fileURLToPath(new URL('./openapi.json', import.meta.url))),
      page: pageFiles(),
    });
    const server: Server = await gateway.listen(s.http.host, s.http.port);

    return {
      ready: () => listener.ready,
      stopSteps: [
        // New connections stop first; requests in flight get their answers while the listener still runs.
        { name: 'http', stop: () => new Promise<void>((resolve) => { server.close(() => resolve()); server.closeIdleConnections(); }) },
        { name: 'result-listener', stop: () => listener.stop() },
        { name: 'sweeper', stop: async () => clearInterval(sweeper) },
        { name: 'kafka-clients', stop: () => clients.close() },
      ],
    };
  },
});
