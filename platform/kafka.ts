import { Kafka, logLevel, type Admin, type LogEntry } from 'kafkajs';
import type { Logger } from './logger.ts';
import { toKafkaConfig, type KafkaSettings } from './kafka-config.ts';
import type { TopicSpec } from './topics.ts';

const LEVELS: Record<number, 'error' | 'warn' | 'info' | 'debug'> = {
  [logLevel.ERROR]: 'error',
  [logLevel.WARN]: 'warn',
  [logLevel.INFO]: 'info',
  [logLevel.DEBUG]: 'debug',
};

/** A kafkajs client whose own log lines go through pino, so one service writes one log format. */
export function createKafka(settings: KafkaSettings, logger: Logger): Kafka {
  const kafkaLog = logger.child({ component: 'kafkajs' });
  return new Kafka({
    ...toKafkaConfig(settings),
    logLevel: logLevel.WARN,
    logCreator: () => ({ namespace, level, log }: LogEntry) => {
      const { message, ...extra } = log;
      kafkaLog[LEVELS[level] ?? 'info']({ namespace, ...extra }, message);
    },
  });
}

/**
 * Creates missing topics; existing ones are left as they are (a warning when they have fewer partitions than
 * asked), so every service can call this at start without coordination.
 */
export async function ensureTopics(admin: Admin, specs: TopicSpec[], settings: KafkaSettings, logger: Logger): Promise<void> {
  const existing = new Set(await admin.listTopics());
  const missing = specs.filter((s) => !existing.has(s.topic));
  if (missing.length > 0) {
    await createTopicsTolerantly(admin, {
      waitForLeaders: true,
      topics: missing.map((s) => ({
        topic: s.topic,
        numPartitions: s.partitions ?? settings.partitions,
        replicationFactor: settings.replicationFactor,
        configEntries: s.compacted
          ? [{ name: 'cleanup.policy', value: 'compact' }, { name: 'min.compaction.lag.ms', value: '0' }]
          : [],
      })),
    });
    logger.info({ topics: missing.map((s) => s.topic) }, 'topics ensured');
  }
  const present = specs.filter((s) => existing.has(s.topic));
  if (present.length === 0) return;
  const metadata = await admin.fetchTopicMetadata({ topics: present.map((s) => s.topic) });
  for (const t of metadata.topics) {
    const wanted = present.find((s) => s.topic === t.name)?.partitions ?? settings.partitions;
    if (t.partitions.length < wanted) {
      logger.warn({ topic: t.name, partitions: t.partitions.length, wanted }, 'topic has fewer partitions than configured; consumers scale only up to its partition count');
    }
  }
}

/** Two services starting together may both create a topic; the loser's "already exists" is success. */
async function createTopicsTolerantly(admin: Admin, options: Parameters<Admin['createTopics']>[0]): Promise<void> {
  try {
    await admin.createTopics(options);
  } catch (err) {
    const errors = (err as { errors?: { type?: string }[] }).errors ?? [];
    const onlyExists = errors.length > 0 && errors.every((e) => e.type === 'TOPIC_ALREADY_EXISTS');
    if (!onlyExists && !/already exists/i.test(String((err as Error).message))) throw err;
  }
}
