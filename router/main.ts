/** The experiment router: images.requests → images.requests.<version>, per the live experiment. */
import type { Batch } from 'kafkajs';
import { groupMembership, runBatchLoop } from '../platform/batch-consumer.ts';
import { connectClients } from '../platform/clients.ts';
import { DeadLetterPublisher, type FailedRecord } from '../platform/dead-letter.ts';
import { decodeChunk } from '../platform/decode-batch.ts';
import { ensureTopics } from '../platform/kafka.ts';
import { runService } from '../platform/service.ts';
import type { ImageRequest } from '../producers/image-request.ts';
import { ExperimentWatcher } from './experiment-watcher.ts';
import { createRouterMetrics } from './metrics.ts';
import { routeRecord, type RoutedOutput } from './route-records.ts';
import { RoutingTable } from './routing-table.ts';
import { readRouterSettings } from './settings.ts';
import { VersionHealthMonitor } from './version-health.ts';

await runService({
  name: 'router',
  readSettings: readRouterSettings,
  opsEndpoint: (s) => s.ops,
  async start(s, { logger, registry }) {
    const clients = await connectClients(s, logger);
    const { topics, serde, producer } = clients;
    const metrics = createRouterMetrics(registry);
    const health = new VersionHealthMonitor({
      admin: clients.admin, settings: s.health, topicPrefix: s.kafka.topicPrefix, topicFor: topics.requestsFor, versions: (): string[] => table.versionsWithFallback, logger, registry,
    });
    const table: RoutingTable = new RoutingTable(s.fallbackVersion, logger, (version) => health.isDown(version));
    const ensured = new Set<string>();
    const ensureVersionTopics = async (versions: string[]): Promise<void> => {
      const missing = versions.filter((v) => !ensured.has(v));
      if (missing.length === 0) return;
      await ensureTopics(clients.admin, missing.map((v) => ({ topic: topics.requestsFor(v) })), s.kafka, logger);
      for (const v of missing) ensured.add(v);
    };
    await ensureVersionTopics([s.fallbackVersion]);

    const watcher = new ExperimentWatcher({
      kafka: clients.kafka, admin: clients.admin, serde, topic: topics.experiments, tableKey: s.tableKey, table, logger,
      beforeApply: ensureVersionTopics,
      onOutcome: (outcome) => {
        metrics.experimentUpdates.inc({ result: outcome.applied ? 'applied' : 'rejected' });
        if (!outcome.applied) return;
        metrics.activeExperiment.reset();
        metrics.activeExperiment.set({ experiment: outcome.config?.id ?? '(default route)' }, 1);
      },
    });
    await watcher.start();
    await watcher.caughtUp();
    logger.info({ experiment: table.experiment?.id ?? null, fallbackVersion: s.fallbackVersion }, 'routing table loaded');
    health.start();

    const dlq = new DeadLetterPublisher(producer, serde, topics.dlq, 'router');
    const consumer = clients.kafka.consumer({ groupId: s.groupId, maxWaitTimeInMs: 100 });
    const joined = groupMembership(consumer);
    await consumer.connect();

    const handle = async (chunk: Batch['messages'], batch: Batch): Promise<void> => {
      const timer = metrics.batchSeconds.startTimer();
      metrics.consumed.inc(chunk.length);
      const { decoded, failed } = await decodeChunk<ImageRequest>(serde, batch.topic, batch.partition, chunk);
      const outputs: RoutedOutput[] = [];
      const dead: FailedRecord[] = [...failed];
      const now = Date.now();
      for (const { message, value } of decoded) {
        const outcome = routeRecord(table, value, message, now);
        if (outcome.ok) outputs.push(...outcome.outputs);
        else dead.push({ topic: batch.topic, partition: batch.partition, message, error: outcome.error, requestId: outcome.requestId });
      }
      const byTopic = new Map<string, { key: string; value: Buffer; headers: Record<string, string> }[]>();
      await Promise.all(outputs.map(async (o) => {
        const topic = topics.requestsFor(o.version);
        const value = await serde.encode(topic, 'RoutedRequest', o.value);
        let list = byTopic.get(topic);
        if (!list) byTopic.set(topic, (list = []));
        list.push({ key: o.key, value, headers: o.headers });
      }));
      await Promise.all([
        byTopic.size > 0
          ? producer.sendBatch({ acks: -1, topicMessages: [...byTopic].map(([topic, messages]) => ({ topic, messages })) })
          : Promise.resolve(),
        dlq.publish(dead),
      ]);
      for (const o of outputs) {
        metrics.routed.inc({
          experiment: o.value.experiment_id ?? '', rule: o.value.rule_id ?? '', version: o.version,
          reason: o.decision.primary.reason, shadow: String(o.value.shadow),
        });
      }
      for (const d of dead) metrics.deadLetters.inc({ stage: d.error.stage, error_class: d.error.errorClass });
      timer();
    };
    await runBatchLoop({ consumer, topics: [topics.requests], logger, registry, maxBatchSize: s.maxBatchSize, handle });

    return {
      ready: joined,
      stopSteps: [
        { name: 'consumer', stop: () => consumer.disconnect() },
        { name: 'experiment-watcher', stop: () => watcher.stop() },
        { name: 'version-health', stop: () => health.stop() },
        { name: 'kafka-clients', stop: () => clients.close() },
      ],
    };
  },
});
