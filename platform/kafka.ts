import kafkajs, { Kafka, logLevel, Partitioners, type Admin, type LogEntry, type Producer, type ProducerConfig } from 'kafkajs';
import type { Logger } from './logger.ts';
import { durability, toKafkaConfig, type KafkaSettings } from './kafka-config.ts';
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
      // A KRaft broker answers these for a moment after a topic is created, and a transaction coordinator while the
      // previous transaction completes; kafkajs retries them. A transactional producer's retries are finite on
      // purpose (an exhausted retry aborts the transaction), which kafkajs warns of.
      const expected = /does not host this topic-partition|not the leader for that topic-partition|another concurrent operation on the same transaction/.test(String(extra.error ?? message))
        || /Limiting retries for the idempotent producer/.test(String(message));
      kafkaLog[expected ? 'debug' : (LEVELS[level] ?? 'info')]({ namespace, ...extra }, message);
    },
  });
}

/**
 * An idempotent producer (the broker drops duplicates of its own retries) that keeps retrying while the broker
 * is away: a batch's offsets are committed only after its outputs are acknowledged, so waiting is safe and
 * giving up is not.
 */
export function createProducer(kafka: Kafka, config: ProducerConfig = {}): Producer {
  return kafka.producer({
    idempotent: true,
    maxInFlightRequests: 5,
    createPartitioner: Partitioners.DefaultPartitioner,
    retry: { retries: Number.MAX_SAFE_INTEGER, initialRetryTime: 200, maxRetryTime: 10_000 },
    ...config,
  });
}

/**
 * A transactional producer whose transactions are all-or-nothing. Its retries are finite on purpose (an exhausted
 * retry aborts the transaction and the work is redone, never half-done) and start short: a producer's next
 * transaction often finds the previous one still completing on the coordinator (CONCURRENT_TRANSACTIONS), which
 * clears within milliseconds.
 */
export function createTransactionalProducer(kafka: Kafka, transactionalId: string, transactionTimeoutMs: number): Producer {
  return createProducer(kafka, {
    transactionalId,
    maxInFlightRequests: 1,
    retry: { retries: 10, initialRetryTime: 20, maxRetryTime: 5_000 },
    transactionTimeout: transactionTimeoutMs,
  });
}

/**
 * Creates missing topics with the configured partitions, replicas, min.insync.replicas and compaction. Existing
 * topics are left as they are, with a warning where they differ from the configuration (fewer partitions, fewer
 * replicas, another min.insync.replicas), so every service can call this at start without coordination.
 */
export async function ensureTopics(admin: Admin, specs: TopicSpec[], settings: KafkaSettings, logger: Logger): Promise<void> {
  const existing = new Set(await admin.listTopics());
  const missing = specs.filter((s) => !existing.has(s.topic));
  const { brokers } = await admin.describeCluster();
  const wanted = durability(settings, brokers.length);
  if (missing.length > 0) {
    await createTopicsTolerantly(admin, {
      waitForLeaders: false,
      topics: missing.map((s) => ({
        topic: s.topic,
        numPartitions: s.partitions ?? settings.partitions,
        replicationFactor: wanted.replicationFactor,
        configEntries: [
          { name: 'min.insync.replicas', value: String(wanted.minInsyncReplicas) },
          ...(s.compacted ? [{ name: 'cleanup.policy', value: 'compact' }, { name: 'min.compaction.lag.ms', value: '0' }] : []),
        ],
      })),
    });
    await waitForLeaders(admin, missing.map((s) => s.topic));
    logger.info({ topics: missing.map((s) => s.topic), ...wanted }, 'topics ensured');
  }
  const present = specs.filter((s) => existing.has(s.topic));
  if (present.length === 0) return;
  const metadata = await admin.fetchTopicMetadata({ topics: present.map((s) => s.topic) });
  const configs = await admin.describeConfigs({
    includeSynonyms: false,
    resources: present.map((s) => ({ type: kafkajs.ConfigResourceTypes.TOPIC, name: s.topic, configNames: ['min.insync.replicas'] })),
  });
  for (const t of metadata.topics) {
    const partitions = present.find((s) => s.topic === t.name)?.partitions ?? settings.partitions;
    const replicas = Math.min(...t.partitions.map((p) => p.replicas.length));
    const minIsr = Number(configs.resources.find((r) => r.resourceName === t.name)?.configEntries.find((e) => e.configName === 'min.insync.replicas')?.configValue);
    for (const problem of topicDurabilityProblems({ partitions: t.partitions.length, replicas, minIsr }, { partitions, ...wanted })) {
      logger.warn({ topic: t.name }, `${t.name}: ${problem}`);
    }
  }
}

/** Pure: how an existing topic falls short of the configuration, as sentences for the log. */
export function topicDurabilityProblems(
  actual: { partitions: number; replicas: number; minIsr: number },
  wanted: { partitions: number; replicationFactor: number; minInsyncReplicas: number },
): string[] {
  const problems: string[] = [];
  if (actual.partitions < wanted.partitions) {
    problems.push(`${actual.partitions} partitions, fewer than the ${wanted.partitions} configured (TOPIC_PARTITIONS); consumers scale only up to the partition count`);
  }
  if (actual.replicas < wanted.replicationFactor) {
    problems.push(`${actual.replicas} replicas, fewer than the ${wanted.replicationFactor} configured (TOPIC_REPLICATION_FACTOR); losing a broker can lose acknowledged records`);
  }
  if (Number.isFinite(actual.minIsr) && actual.minIsr !== wanted.minInsyncReplicas) {
    problems.push(`min.insync.replicas=${actual.minIsr}, not the ${wanted.minInsyncReplicas} configured (TOPIC_MIN_INSYNC_REPLICAS); change it with kafka-configs --alter`);
  }
  return problems;
}

/**
 * Bytes per produce call: PRODUCE_MAX_BYTES, lowered to the smallest max.message.bytes of the topics written to,
 * since the broker refuses a larger record batch for good.
 */
export async function produceBudget(admin: Admin, topics: string[], maxBytes: number): Promise<number> {
  const { resources } = await admin.describeConfigs({
    includeSynonyms: false,
    resources: topics.map((name) => ({ type: kafkajs.ConfigResourceTypes.TOPIC, name, configNames: ['max.message.bytes'] })),
  });
  const limits = resources.flatMap((r) => r.configEntries.filter((e) => e.configName === 'max.message.bytes').map((e) => Number(e.configValue)));
  return Math.min(maxBytes, ...limits.filter((n) => Number.isFinite(n) && n > 0));
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

/**
 * kafkajs' own waitForLeaders retries only LEADER_NOT_AVAILABLE, but a KRaft broker answers
 * UNKNOWN_TOPIC_OR_PARTITION for a moment after creation; poll until every partition has a leader.
 */
async function waitForLeaders(admin: Admin, topics: string[], timeoutMs = 30_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    try {
      const { topics: meta } = await admin.fetchTopicMetadata({ topics });
      if (meta.length === topics.length && meta.every((t) => t.partitions.length > 0 && t.partitions.every((p) => p.leader >= 0))) return;
    } catch (err) {
      if (Date.now() > deadline) throw err;
    }
    if (Date.now() > deadline) throw new Error(`topics ${topics.join(', ')} have no leader after ${timeoutMs} ms; check the broker log`);
    await new Promise((r) => setTimeout(r, 100));
  }
}
