/**
 * Reads every partition of the predictions and dead-letter topics from their ends at start, in a consumer group
 * of its own per gateway process (a request's answer may land on any partition, and every instance must see
 * the answers to its own requests). Nothing is committed: a restarted gateway has no requests to answer.
 * Its positions are kept here instead, and every join of the group (a coordinator move, a partition-count
 * change, the restart after a broker outage) resumes at them: an answer produced meanwhile is read late, never
 * skipped. A partition added after start has no position and is read from its earliest offset.
 * Only records whose `x-request-id` header names a tracked request are decoded.
 */
import { hostname } from 'node:os';
import { randomBytes } from 'node:crypto';
import type { Consumer, EachBatchPayload, Kafka } from 'kafkajs';
import type { Prediction } from '../../inference-consumers/service/prediction.ts';
import type { DeadLetter } from '../../platform/dead-letter.ts';
import { HEADER, headersToStrings } from '../../platform/headers.ts';
import { groupIdFor } from '../../platform/kafka-config.ts';
import { GroupTracker } from '../../platform/consumer/group-tracker.ts';
import { KeptPositions, PARTITION_DISCOVERY_MS, resumeOnJoin } from '../../platform/consumer/kept-positions.ts';
import type { Logger } from '../../platform/logger.ts';
import type { AvroSerde } from '../../platform/schema-registry.ts';
import { fetchEnds } from '../../platform/topic-ends.ts';
import type { RequestTracker } from './request-tracker.ts';

export interface ResultListenerOptions {
  kafka: Kafka;
  serde: AvroSerde;
  topics: { predictions: string; dlq: string };
  topicPrefix: string;
  tracker: RequestTracker<Prediction, unknown>;
  logger: Logger;
  /** Stops the process (for its supervisor to restart it) when the consumer stops for good. */
  fatal: (message: string, err?: unknown) => void;
  onSettled: (kind: 'prediction' | 'dead_letter', d?: { stage: string; errorClass: string }) => void;
}

/** `${prefix}.gateway-<host>-<pid>-<random>`: unique per process, so each instance reads every partition. */
export function listenerGroupId(prefix: string): string {
  return groupIdFor(prefix, `gateway-${hostname()}-${process.pid}-${randomBytes(3).toString('hex')}`);
}

export class ResultListener {
  private readonly consumer: Consumer;
  private readonly group: GroupTracker;
  private readonly positions = new KeptPositions();

  constructor(private readonly o: ResultListenerOptions) {
    const groupId = listenerGroupId(o.topicPrefix);
    this.consumer = o.kafka.consumer({ groupId, maxWaitTimeInMs: 500, sessionTimeout: 30_000, metadataMaxAge: PARTITION_DISCOVERY_MS });
    this.group = new GroupTracker(this.consumer, groupId, o.logger, o.fatal);
    resumeOnJoin(this.consumer, this.positions.positionOf, o.logger);
  }

  /** True while the consumer is a member of its group (its positions were taken before it joined). */
  get ready(): boolean {
    return this.group.isMember;
  }

  async start(): Promise<void> {
    const topics = [this.o.topics.predictions, this.o.topics.dlq];
    // Answers to this process's requests come after this moment: the partitions' ends now are where reading
    // starts, and any partition not among them is newer than this start, so all of it is read (fromBeginning).
    const admin = this.o.kafka.admin();
    await admin.connect();
    try {
      for (const topic of topics) {
        for (const end of await fetchEnds(admin, topic)) this.positions.advance(topic, end.partition, BigInt(end.high));
      }
    } finally {
      await admin.disconnect();
    }
    await this.consumer.connect();
    await this.consumer.subscribe({ topics, fromBeginning: true });
    await this.consumer.run({
      autoCommit: false,
      partitionsConsumedConcurrently: 8,
      eachBatch: (payload) => this.handle(payload),
    });
  }

  stop(): Promise<void> {
    return this.consumer.disconnect();
  }

  private async handle({ batch }: EachBatchPayload): Promise<void> {
    const isPrediction = batch.topic === this.o.topics.predictions;
    for (const message of batch.messages) {
      const requestId = headersToStrings(message.headers)[HEADER.requestId];
      if (requestId === undefined || !this.o.tracker.wants(requestId)) continue;
      try {
        if (isPrediction) {
          const p = await this.o.serde.decode<Prediction>(message.value);
          if (this.o.tracker.prediction(p)) this.o.onSettled('prediction');
        } else {
          const d = await this.o.serde.decode<DeadLetter>(message.value);
          const facts = { requestId, stage: d.stage, errorClass: d.error_class, message: d.error_message };
          if (this.o.tracker.deadLetter(facts, d.original_headers[HEADER.shadow] === 'true')) {
            this.o.onSettled('dead_letter', { stage: d.stage, errorClass: d.error_class });
          }
        }
      } catch (err) {
        // Another team's bad record must not stop answers to everyone else; the request times out instead.
        this.o.logger.warn({ err, topic: batch.topic, partition: batch.partition, offset: message.offset, requestId }, 'cannot decode a record for a tracked request');
      }
    }
    // Past the batch's last offset (transaction markers included): every record below it has been looked at.
    this.positions.advance(batch.topic, batch.partition, BigInt(batch.lastOffset()) + 1n);
  }
}
