/**
 * The rollout controller: reads operators' commands, DriftReports and dead letters, moves each declared rollout
 * step by step by publishing experiments, rolls back when a guard fails, and keeps every decision on the
 * compacted rollouts topic. GET /api/rollouts on the ops port serves the rollouts and their decisions (the
 * drift monitor's dashboard shows them). Run one per ROLLOUT_CONTROLLER_ID.
 */
import { connectClients } from '../platform/clients.ts';
import { ensureTopics } from '../platform/kafka.ts';
import { runService } from '../platform/service.ts';
import { rolloutsRoute } from './api.ts';
import { RolloutController } from './controller.ts';
import { createRolloutMetrics } from './metrics.ts';
import { readControllerSettings } from './settings.ts';
import { rolloutTopics, rolloutTopicSpecs } from './topics.ts';

await runService({
  name: 'rollouts',
  readSettings: readControllerSettings,
  opsEndpoint: (s) => s.ops,
  async start(s, { logger, registry }) {
    const log = logger.child({ controller: s.controllerId });
    const clients = await connectClients(s, log);
    const topics = { ...rolloutTopics(s.kafka.topicPrefix), experiments: clients.topics.experiments, drift: clients.topics.drift, dlq: clients.topics.dlq };
    await ensureTopics(clients.admin, rolloutTopicSpecs(topics), s.kafka, log);
    const controller = new RolloutController({
      kafka: clients.kafka, admin: clients.admin, serde: clients.serde, topics, settings: s, logger: log, metrics: createRolloutMetrics(registry),
      onFatal: (err) => {
        log.fatal({ err }, 'a rollout transaction failed; exiting so that a restart resumes from the rollouts topic');
        process.exit(1);
      },
    });
    await controller.start();
    log.info({ group: s.groupId, transactionalId: s.transactionalId, topics }, 'rollout controller running');
    return {
      ready: () => controller.ready(),
      routes: { '/api/rollouts': rolloutsRoute(() => controller.view()) },
      stopSteps: [
        { name: 'controller', stop: () => controller.stop() },
        { name: 'kafka-clients', stop: () => clients.close() },
      ],
    };
  },
});
