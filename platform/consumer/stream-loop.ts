/**
 * The consume → process → produce → commit loop that the router, the inference consumers and the drift monitor
 * share. Per chunk of a poll (at most maxBatchSize records of one partition):
 *  1. the service's processor runs under per-record isolation and the watchdog (chunk-isolation.ts);
 *  2. outputs too large for the broker turn their input record into a dead letter (`<stage>/TooLarge`), and
 *     dead letters are encoded with their original value cut to a limit;
 *  3. outputs, dead letters and the consumed offset are delivered: in one transaction (exactly-once) or
 *     produced with acks=all and then committed (at-least-once);
 *  4. a systemic failure (registry, object store, model, broker, a stall every record shares) pauses the
 *     partition and retries the chunk after a growing backoff; nothing of it is dead-lettered;
 *  5. with priority lanes, a process runs one loop per lane in the version's group (laned-stream-loops.ts): the
 *     normal lane waits between chunks while the high lane works, within the normal lane's minimum share.
 * Offsets are never committed before their outputs are acknowledged.
 */
import { performance } from 'node:perf_hooks';
import { setTimeout as sleep } from 'node:timers/promises';
import type { Admin, Consumer, ConsumerConfig, EachBatchPayload, Kafka, KafkaMessage, Producer } from 'kafkajs';
import type { Registry } from 'prom-client';
import { DEAD_LETTER_OVERHEAD_BYTES, deadLetterRecords, type DeadLetterLimits, type FailedRecord } from '../dead-letter.ts';
import { PipelineError, SystemicError, type Stage } from '../errors.ts';
import { HEADER, headersToStrings } from '../headers.ts';
import type { Logger } from '../logger.ts';
import { EventLoopTurns } from '../event-loop-turns.ts';
import { maxRecordBytes, recordBytes, type OutgoingRecord } from '../produce-budget.ts';
import type { AvroSerde } from '../schema-registry.ts';
import type { Lane } from '../topics.ts';
import { createBatchHandler, type ChunkResult } from './batch-handler.ts';
import { processIsolated, type ChunkProcessor, type ProcessedChunk } from './chunk-isolation.ts';
import { createDelivery, type Delivery, type DeliveryMode } from './delivery.ts';
import { GroupTracker } from './group-tracker.ts';
import { LagMonitor } from './lag-monitor.ts';
import { createStreamMetrics } from './metrics.ts';
import type { LaneScheduler } from './lane-scheduler.ts';
import { PartitionPauses } from './partition-pauses.ts';
import { subscriptionAssignor } from './subscription-assignor.ts';
import type { StreamSettings } from './settings.ts';

export interface StreamLoopOptions {
  /** Names the service on dead letters. */
  service: string;
  kafka: Kafka;
  admin: Admin;
  /** The shared idempotent producer (at-least-once delivery). */
  producer: Producer;
  serde: AvroSerde;
  dlqTopic: string;
  groupId: string;
  topics: string[];
  fromBeginning?: boolean;
  consumerConfig?: Omit<ConsumerConfig, 'groupId'>;
  process: ChunkProcessor;
  /** 'none': the service publishes its outputs and keeps its positions itself (the drift monitor). */
  delivery: DeliveryMode | 'none';
  /** The stage named on dead letters the processor did not classify, and on oversized outputs. */
  stage: Stage;
  maxBatchSize: number;
  partitionsConsumedConcurrently?: number;
  settings: StreamSettings;
  /** Bytes per produce call (StreamSettings.produceMaxBytes capped by the broker's limits). */
  budgetBytes: number;
  /** The group whose committed offsets the lag is measured against (default: groupId). */
  lagGroupId?: string;
  /**
   * Priority lanes (laned-stream-loops.ts): this loop serves `topics` as one lane of a version, in turns with the
   * other lane's loop in the same process and group.
   */
  lane?: { lane: Lane; scheduler: LaneScheduler };
  /** Counts delivered dead letters (per-service metrics). */
  onDeadLetters?: (failed: readonly FailedRecord[]) => void;
  logger: Logger;
  registry: Registry;
  /** Ends the process: the consumer cannot go on (see GroupTracker). */
  fatal: (message: string, err?: unknown) => void;
}

export interface StreamLoop {
  consumer: Consumer;
  tracker: GroupTracker;
  /** In the group, and no partition paused for longer than PAUSED_NOT_READY_MS. */
  ready(): boolean;
  /** Finishes the chunk in flight (delivered and committed), leaves the group, releases producers. */
  stop(): Promise<void>;
}

/**
 * Pure: the records to produce for a processed chunk. An input record with an output over the budget becomes a
 * `<stage>/TooLarge` dead letter and none of its outputs is produced.
 */
export function fitOutputs(chunk: ProcessedChunk, o: { topic: string; partition: number; stage: Stage; budgetBytes: number }): { records: OutgoingRecord[]; failed: FailedRecord[]; dropped: ReadonlySet<KafkaMessage> } {
  const limit = maxRecordBytes(o.budgetBytes);
  const oversized = new Map<KafkaMessage, number>();
  for (const { source, record } of chunk.outputs) {
    const bytes = recordBytes(record);
    if (bytes > limit) oversized.set(source, Math.max(bytes, oversized.get(source) ?? 0));
  }
  const failed = [...chunk.failed];
  for (const [source, bytes] of oversized) {
    const requestId = chunk.outputs.find((out) => out.source === source)?.record.headers[HEADER.requestId] ?? headersToStrings(source.headers)[HEADER.requestId];
    failed.push({
      topic: o.topic, partition: o.partition, message: source, requestId,
      error: new PipelineError(o.stage, 'TooLarge', `an output record of about ${bytes} bytes exceeds the produce limit of ${limit} bytes (PRODUCE_MAX_BYTES, the topic's max.message.bytes); shrink the request's metadata or raise the limits`),
    });
  }
  return { records: chunk.outputs.filter((out) => !oversized.has(out.source)).map((out) => out.record), failed, dropped: new Set(oversized.keys()) };
}

/**
 * The dead-letter value limit, lowered where DLQ_MAX_VALUE_BYTES and the rest of a dead letter would not fit the
 * produce budget: a dead letter that does not fit could never be written and would hold its partition.
 */
export function fittingDeadLetterLimits(maxValueBytes: number, budgetBytes: number, log?: Logger): DeadLetterLimits {
  const fitting = Math.max(0, maxRecordBytes(budgetBytes) - DEAD_LETTER_OVERHEAD_BYTES);
  if (maxValueBytes <= fitting) return { maxValueBytes };
  log?.warn({ DLQ_MAX_VALUE_BYTES: maxValueBytes, budgetBytes, used: fitting }, 'DLQ_MAX_VALUE_BYTES does not fit the produce budget; dead letters keep less of the original value');
  return { maxValueBytes: fitting };
}

export async function startStreamLoop(o: StreamLoopOptions): Promise<StreamLoop> {
  const log = o.logger.child({ group: o.groupId });
  const deadLetterLimits = fittingDeadLetterLimits(o.settings.dlqMaxValueBytes, o.budgetBytes, log);
  const metrics = createStreamMetrics(o.registry);
  const consumer = o.kafka.consumer({
    sessionTimeout: o.settings.sessionTimeoutMs,
    heartbeatInterval: o.settings.heartbeatIntervalMs,
    ...o.consumerConfig,
    // The lanes' consumers share the group and subscribe to different topics.
    ...(o.lane ? { partitionAssigners: [subscriptionAssignor] } : {}),
    groupId: o.groupId,
  });
  const tracker = new GroupTracker(consumer, o.groupId, log, o.fatal);
  const pauses = new PartitionPauses(o.settings.pause, {
    pause: (topic, partition) => consumer.pause([{ topic, partitions: [partition] }]),
    resume: (topic, partition) => consumer.resume([{ topic, partitions: [partition] }]),
    resumeFailed: (topic, partition, err) => log.warn({ topic, partition, err: (err as Error).message }, 'resuming a paused partition failed; tried again later'),
  });
  tracker.onLeave(() => {
    pauses.detach();
    metrics.paused.set({ group: o.groupId }, pauses.paused);
  });
  metrics.paused.set({ group: o.groupId }, 0);
  const delivery: Delivery | undefined = o.delivery === 'none' ? undefined : createDelivery(o.delivery, {
    kafka: o.kafka, admin: o.admin, producer: o.producer, groupId: o.groupId, budgetBytes: o.budgetBytes, logger: log,
    transactionTimeoutMs: o.settings.transactionTimeoutMs,
    onTransaction: (result) => metrics.transactions.inc({ group: o.groupId, result }),
    onProducerCreated: () => metrics.producersCreated.inc({ group: o.groupId }),
  });
  const lag = new LagMonitor({
    admin: o.admin, groupId: o.lagGroupId ?? o.groupId, gauge: metrics.lag, assignment: () => tracker.current,
    intervalMs: o.settings.lagIntervalMs, logger: log,
  });
  /** Consecutive watchdog stalls per partition: after two, the stalled records are isolated one by one. */
  const stalls = new Map<string, number>();
  tracker.onAssignment((assignment) => {
    const owned = (topic: string, partition: number): boolean => tracker.owns(topic, partition);
    pauses.retain(owned);
    metrics.paused.set({ group: o.groupId }, pauses.paused);
    void delivery?.retain(owned);
    void lag.refresh();
    // Claimed at once, not at the first batch: taking over aborts a crashed owner's open transaction, which
    // otherwise holds back every read_committed reader of our outputs until it times out. A partition kept across
    // the rejoin keeps its ownership, so its claim is the one it has.
    for (const [topic, partitions] of assignment) {
      for (const partition of partitions) {
        const ownership = tracker.ownedSince(topic, partition);
        if (ownership === undefined) continue;
        delivery?.claim(topic, partition, ownership).catch((err: unknown) => {
          if (tracker.ownedSince(topic, partition) === ownership) log.warn({ topic, partition, err: (err as Error).message }, 'claiming a partition failed; retried at its first batch');
        });
      }
    }
  });

  const onSystemic = (err: SystemicError, topic: string, partition: number): void => {
    const key = `${topic}/${partition}`;
    stalls.set(key, err.component === 'watchdog' ? (stalls.get(key) ?? 0) + 1 : 0);
    const delayMs = pauses.pause(topic, partition, err.message);
    metrics.systemicFailures.inc({ group: o.groupId, component: err.component });
    metrics.paused.set({ group: o.groupId }, pauses.paused);
    log.warn({ component: err.component, topic, partition, retryInMs: Math.round(delayMs), failures: pauses.failures(topic, partition), err: err.message },
      `${err.component} failure: partition paused, the chunk is retried without dead-lettering its records`);
  };

  const lane = o.lane;
  // The normal lane's chunks wait while a high batch is in progress: before each chunk, and at each checkpoint
  // inside one, which also lets the event loop read the high lane's fetch between two records' work.
  const normalTurn = async (scheduler: LaneScheduler, pauseMs = 0): Promise<void> => {
    if (pauseMs <= 0 && !scheduler.holdNormal()) return;
    const started = process.hrtime.bigint();
    metrics.laneYields.inc({ group: o.groupId });
    if (pauseMs > 0) await sleep(pauseMs);
    await scheduler.normalTurn();
    metrics.laneWaitSeconds.inc({ group: o.groupId }, Number(process.hrtime.bigint() - started) / 1e9);
  };
  // Before each normal chunk: the duty cycle's pause, measured on the time since the previous chunk started.
  let lastChunkAt: number | undefined;
  const chunkTurn = async (scheduler: LaneScheduler): Promise<void> => {
    const now = performance.now();
    await normalTurn(scheduler, lastChunkAt === undefined ? 0 : scheduler.normalPauseMs(now - lastChunkAt));
    lastChunkAt = performance.now();
  };
  const turns = new EventLoopTurns();
  const checkpoint = lane?.lane === 'normal'
    ? async (): Promise<void> => {
      await turns.next();
      await normalTurn(lane.scheduler);
    }
    : undefined;
  const processChunk = async (chunk: KafkaMessage[], topic: string, partition: number): Promise<ChunkResult> => {
    const processed = await processIsolated(chunk, o.process, {
      topic, partition, stage: o.stage, timeoutMs: o.settings.chunkTimeoutMs,
      isolateTotalStalls: (stalls.get(`${topic}/${partition}`) ?? 0) >= 2,
      onIsolation: (reason) => metrics.isolations.inc({ group: o.groupId, reason }),
      ...(checkpoint ? { checkpoint } : {}),
    });
    const { records, failed, dropped } = fitOutputs(processed, { topic, partition, stage: o.stage, budgetBytes: o.budgetBytes });
    const dead = await deadLetterRecords(failed, { serde: o.serde, topic: o.dlqTopic, service: o.service, limits: deadLetterLimits });
    return { records: [...records, ...dead], processed, failed, dropped };
  };

  const handler = createBatchHandler({
    delivery,
    ownership: (topic, partition) => tracker.ownedSince(topic, partition),
    processChunk,
    maxBatchSize: o.maxBatchSize,
    commitMaxChunks: o.settings.commitMaxChunks,
    commitIntervalMs: o.settings.commitIntervalMs,
    succeeded: (topic, partition) => {
      pauses.succeeded(topic, partition);
      stalls.delete(`${topic}/${partition}`);
      metrics.paused.set({ group: o.groupId }, pauses.paused);
    },
    systemic: onSystemic,
    ...(o.onDeadLetters ? { onDeadLetters: o.onDeadLetters } : {}),
    ...(lane ? { served: (records: number) => lane.scheduler.served(lane.lane, records) } : {}),
    ...(lane?.lane === 'normal' ? { turn: () => chunkTurn(lane.scheduler) } : {}),
    logger: log,
  });
  // A high-lane batch holds the normal lane from when kafkajs hands it over until it is delivered.
  const eachBatch = lane?.lane === 'high'
    ? async (payload: EachBatchPayload): Promise<void> => {
      if (payload.batch.isEmpty()) return handler(payload);
      lane.scheduler.highStarted();
      try {
        await handler(payload);
      } finally {
        lane.scheduler.highDone();
      }
    }
    : handler;

  await consumer.connect();
  await consumer.subscribe({ topics: o.topics, fromBeginning: o.fromBeginning ?? true });
  await consumer.run({
    autoCommit: o.delivery === 'at-least-once',
    eachBatchAutoResolve: false,
    partitionsConsumedConcurrently: o.partitionsConsumedConcurrently ?? 1,
    eachBatch,
  });
  lag.start();
  let stopped = false;
  return {
    consumer,
    tracker,
    ready: () => !stopped && tracker.isMember && pauses.healthy(),
    async stop() {
      stopped = true;
      await consumer.disconnect();
      lag.stop();
      pauses.clear();
      await delivery?.close();
    },
  };
}
