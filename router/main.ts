/** The experiment router: images.requests → images.requests.[<model>.]<version>, per each model's live experiment. */
import { connectClients } from '../platform/clients.ts';
import { startStreamLoop } from '../platform/consumer/stream-loop.ts';
import { ensureTopics, produceBudget } from '../platform/kafka.ts';
import { runService } from '../platform/service.ts';
import { LANES } from '../platform/topics.ts';
import { ExperimentWatcher } from './experiment-watcher.ts';
import { createRouterMetrics } from './metrics.ts';
import { routeChunkProcessor } from './route-chunk.ts';
import { ModelTables } from './model-tables.ts';
import { readRouterSettings } from './settings.ts';
import { VersionHealthMonitor } from './version-health.ts';

await runService({
  name: 'router',
  readSettings: readRouterSettings,
  opsEndpoint: (s) => s.ops,
  async start(s, { logger, registry, fatal }) {
    const clients = await connectClients(s, logger);
    const { topics, serde, producer } = clients;
    const metrics = createRouterMetrics(registry);
    const health = new VersionHealthMonitor({
      admin: clients.admin, settings: s.health, topicPrefix: s.kafka.topicPrefix, topicsFor: (label) => LANES.map((lane) => topics.requestsFor(label, null, lane)), versions: (): string[] => tables.labelsWithFallback, logger, registry,
    });
    const tables: ModelTables = new ModelTables({
      tableKey: s.tableKey, defaultModel: s.defaultModel, fallbackVersion: s.fallbackVersion, logger, labelDown: (label) => health.isDown(label),
    });
    const ensured = new Set<string>();
    const ensureVersionTopics = async (versions: string[], model: string | null): Promise<void> => {
      const missing = versions.flatMap((v) => LANES.map((lane) => topics.requestsFor(v, model, lane))).filter((t) => !ensured.has(t));
      if (missing.length === 0) return;
      await ensureTopics(clients.admin, missing.map((topic) => ({ topic })), s.kafka, logger);
      for (const t of missing) ensured.add(t);
    };
    await ensureVersionTopics([s.fallbackVersion], null);

    const watcher = new ExperimentWatcher({
      kafka: clients.kafka, admin: clients.admin, serde, topic: topics.experiments, tables, logger,
      groupPrefix: s.kafka.topicPrefix,
      beforeApply: ensureVersionTopics,
      onOutcome: (outcome) => {
        metrics.experimentUpdates.inc({ result: outcome.applied ? 'applied' : 'rejected' });
        if (!outcome.applied) return;
        metrics.activeExperiment.reset();
        for (const { model, config } of tables.experiments) metrics.activeExperiment.set({ model, experiment: config?.id ?? '(default route)' }, 1);
      },
      // Routing on a table that no longer follows the topic would silently ignore every later experiment.
      onFailure: (err) => fatal('the experiment watcher stopped', err),
    });
    await watcher.start();
    await watcher.caughtUp();
    logger.info({ experiments: tables.experiments.map((e) => `${e.model}: ${e.config?.id ?? '(default route)'}`), fallbackVersion: s.fallbackVersion }, 'routing tables loaded');
    health.start();

    const budgetBytes = await produceBudget(clients.admin, [topics.requestsFor(s.fallbackVersion), topics.dlq], s.stream.produceMaxBytes);
    const loop = await startStreamLoop({
      service: 'router', kafka: clients.kafka, admin: clients.admin, producer, serde, dlqTopic: topics.dlq,
      groupId: s.groupId, topics: [topics.requests], consumerConfig: { maxWaitTimeInMs: 100 },
      process: routeChunkProcessor({ serde, topics, tables, limits: s.limits, metrics, defaultModel: s.defaultModel, consumerGroup: s.groupId }),
      delivery: s.stream.delivery, stage: 'route', maxBatchSize: s.maxBatchSize, settings: s.stream, budgetBytes,
      partitionsConsumedConcurrently: s.partitionsConcurrently,
      onDeadLetters: (failed) => { for (const d of failed) metrics.deadLetters.inc({ stage: d.error.stage, error_class: d.error.errorClass }); },
      logger, registry, fatal,
    });
    logger.info({ group: s.groupId, delivery: s.stream.delivery, budgetBytes }, 'routing');

    return {
      ready: () => loop.ready() && watcher.following,
      stopSteps: [
        { name: 'consumer', stop: () => loop.stop() },
        { name: 'experiment-watcher', stop: () => watcher.stop() },
        { name: 'version-health', stop: () => health.stop() },
        { name: 'kafka-clients', stop: () => clients.close() },
      ],
    };
  },
});
