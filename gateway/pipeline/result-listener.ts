/**
 * Reads every partition of the predictions and dead-letter topics from the latest offset, in a consumer group
 * of its own per gateway process (a request's answer may land on any partition, and every instance must see
 * the answers to its own requests). Nothing is committed: a restarted gateway has no requests to answer.
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
import type { Logger } from '../../platform/logger.ts';
import type { AvroSerde } from '../../platform/schema-registry.ts';
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
  private fetched = false;

  constructor(private readonly o: ResultListenerOptions) {
    const groupId = listenerGroupId(o.topicPrefix);
    this.consumer = o.kafka.consumer({ groupId, maxWaitTimeInMs: 500, sessionTimeout: 30_000 });
    this.group = new GroupTracker(this.consumer, groupId, o.logger, o.fatal);
    // Offsets of a new group resolve to "latest" on its first fetch; answers produced before then would be missed.
    this.consumer.on(this.consumer.events.FETCH, () => { if (this.group.isMember) this.fetched = true; });
  }

  /** True from the first fetch after joining while the consumer is a member of its group. */
  get ready(): boolean {
    return this.group.isMember && this.fetched;
  }

  async start(): Promise<void> {
    await this.consumer.connect();
    await this.consumer.subscribe({ topics: [this.o.topics.predictions, this.o.topics.dlq], fromBeginning: false });
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
  }
}
