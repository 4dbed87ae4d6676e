/**
 * How the drift monitor's outputs (reports, dead letters) and its state (snapshot + the input positions it
 * reflects) reach Kafka.
 * - exactly-once: all of them in one transaction under the transactional id `<prefix>.<DRIFT_MONITOR_ID>`, the
 *   positions also committed as the offsets of the group of that name (so consumer-group tools and the lag metric
 *   see them). Starting a monitor with the same id fences the running one: its next transaction fails and it exits.
 * - at-least-once: outputs with acks=all, the snapshot after them, then the positions set on that group.
 */
import type { Admin, Kafka, Producer } from 'kafkajs';
import { describeKafkaError, isFencing } from '../../platform/consumer/kafka-errors.ts';
import { createTransactionalProducer } from '../../platform/kafka.ts';
import { byTopic, splitByBudget, type OutgoingRecord } from '../../platform/produce-budget.ts';
import type { Positions } from './snapshot-codec.ts';

/** Another monitor with the same DRIFT_MONITOR_ID has taken over. */
export class FencedError extends Error {
  override readonly name = 'FencedError';
}

function offsetTopics(positions: Positions) {
  return Object.entries(positions).map(([topic, partitions]) => ({
    topic,
    partitions: Object.entries(partitions).map(([partition, offset]) => ({ partition: Number(partition), offset })),
  }));
}

export interface StateWriterOptions {
  kafka: Kafka;
  admin: Admin;
  /** The shared idempotent producer (at-least-once). */
  producer: Producer;
  /** Transactional id and offsets group: `<prefix>.<DRIFT_MONITOR_ID>`. */
  id: string;
  budgetBytes: number;
  transactionTimeoutMs: number;
}

export class TransactionalStateWriter {
  private producer: Producer | undefined;

  constructor(private readonly o: StateWriterOptions) {}

  /** Initialises the transactional id: fences any other monitor with this id and settles its open transaction. */
  async start(): Promise<void> {
    const producer = createTransactionalProducer(this.o.kafka, this.o.id, this.o.transactionTimeoutMs);
    await producer.connect();
    await (await producer.transaction()).abort();
    this.producer = producer;
  }

  /** Produces `records` (in order) and commits `positions`, atomically. Throws FencedError when fenced. */
  async commit(records: readonly OutgoingRecord[], positions: Positions): Promise<void> {
    if (!this.producer) await this.start();
    const transaction = await (this.producer as Producer).transaction();
    try {
      for (const call of splitByBudget(records, this.o.budgetBytes)) await transaction.sendBatch({ acks: -1, topicMessages: byTopic(call) });
      const topics = offsetTopics(positions);
      if (topics.length > 0) await transaction.sendOffsets({ consumerGroupId: this.o.id, topics });
      await transaction.commit();
    } catch (err) {
      await transaction.abort().catch(() => undefined);
      if (isFencing(err)) {
        throw new FencedError(`another drift monitor with the transactional id ${this.o.id} has taken over (same DRIFT_MONITOR_ID): ${describeKafkaError(err)}`, { cause: err });
      }
      // Re-initialised at the next commit; the aborted transaction's outputs are retried then.
      await this.close();
      throw err;
    }
  }

  async close(): Promise<void> {
    const producer = this.producer;
    this.producer = undefined;
    await producer?.disconnect().catch(() => undefined);
  }
}

export class AtLeastOnceStateWriter {
  constructor(private readonly o: StateWriterOptions) {}

  async publish(records: readonly OutgoingRecord[]): Promise<void> {
    for (const call of splitByBudget(records, this.o.budgetBytes)) await this.o.producer.sendBatch({ acks: -1, topicMessages: byTopic(call) });
  }

  /** Records the positions as the offsets group's, for consumer-group tools and the lag metric (nobody consumes with it). */
  async commitPositions(positions: Positions): Promise<void> {
    for (const { topic, partitions } of offsetTopics(positions)) await this.o.admin.setOffsets({ groupId: this.o.id, topic, partitions });
  }
}
