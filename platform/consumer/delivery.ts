/**
 * How a chunk's outputs and its consumed offsets reach the broker.
 * - exactly-once: one Kafka transaction per chunk holds the outputs, the dead letters and the consumed offset,
 *   through a transactional producer per input partition (transactional id `<group>.<topic>.<partition>`).
 *   kafkajs has no KIP-447 group-generation fencing, so the per-partition id is what fences a zombie: whoever
 *   processes the partition first initialises its producer, which aborts or completes the previous owner's open
 *   transaction and makes the previous owner's next commit fail; then it reads the committed offset again and
 *   skips what the previous owner already committed.
 * - at-least-once: outputs with acks=all through the shared idempotent producer, then the offset commit. A crash
 *   between the two redelivers the chunk (duplicates, never losses).
 */
import type { Admin, Kafka, Producer } from 'kafkajs';
import { SystemicError } from '../errors.ts';
import { createTransactionalProducer } from '../kafka.ts';
import type { Logger } from '../logger.ts';
import { byTopic, splitByBudget, type OutgoingRecord } from '../produce-budget.ts';
import { describeKafkaError, isFencing } from './kafka-errors.ts';

export type DeliveryMode = 'exactly-once' | 'at-least-once';

export interface PartitionCommit {
  topic: string;
  partition: number;
  /** The next offset to read: one past the chunk's last record (and past trailing transaction markers). */
  offset: string;
}

/** The consumer-group commit kafkajs hands to eachBatch. */
export type CommitOffsets = (offsets: { topics: { topic: string; partitions: { partition: number; offset: string }[] }[] }) => Promise<void>;

export interface Delivery {
  readonly mode: DeliveryMode;
  /**
   * Makes this member the partition's writer for the generation (a no-op when it already is) and returns the
   * committed offset read after taking over, below which records are already done (undefined: nothing to skip).
   */
  claim(topic: string, partition: number, generation: number): Promise<bigint | undefined>;
  /** Produces the records and commits the offset; throws SystemicError when the broker does not take them. */
  deliver(records: OutgoingRecord[], commit: PartitionCommit, commitOffsets: CommitOffsets): Promise<void>;
  /** Releases what is kept for partitions this member no longer owns. */
  retain(owned: (topic: string, partition: number) => boolean): Promise<void>;
  close(): Promise<void>;
}

export interface DeliveryOptions {
  kafka: Kafka;
  admin: Admin;
  /** The shared idempotent producer (at-least-once). */
  producer: Producer;
  groupId: string;
  /** Bytes per produce call, under the broker's record-batch limit. */
  budgetBytes: number;
  /** The broker aborts a transaction left open this long (a crashed writer), unblocking read_committed readers. */
  transactionTimeoutMs: number;
  logger: Logger;
  onTransaction?: (result: 'committed' | 'aborted') => void;
}

export function createDelivery(mode: DeliveryMode, o: DeliveryOptions): Delivery {
  return mode === 'exactly-once' ? new TransactionalDelivery(o) : new AtLeastOnceDelivery(o);
}

const offsetsFor = (c: PartitionCommit) => ({ topics: [{ topic: c.topic, partitions: [{ partition: c.partition, offset: c.offset }] }] });

class AtLeastOnceDelivery implements Delivery {
  readonly mode = 'at-least-once' as const;

  constructor(private readonly o: DeliveryOptions) {}

  async claim(): Promise<undefined> {
    return undefined;
  }

  async deliver(records: OutgoingRecord[], commit: PartitionCommit, commitOffsets: CommitOffsets): Promise<void> {
    try {
      for (const call of splitByBudget(records, this.o.budgetBytes)) await this.o.producer.sendBatch({ acks: -1, topicMessages: byTopic(call) });
    } catch (err) {
      throw new SystemicError('broker', `the broker did not take the chunk's outputs: ${describeKafkaError(err)}`, { cause: err });
    }
    try {
      await commitOffsets(offsetsFor(commit));
    } catch (err) {
      // Delivered but not committed (a rebalance, most often): the next commit covers it, or the next owner
      // redelivers it, which at-least-once allows.
      this.o.logger.warn({ err: describeKafkaError(err), ...commit }, 'offset commit after delivery failed; the chunk may be redelivered');
    }
  }

  async retain(): Promise<void> {}

  async close(): Promise<void> {}
}

interface Claimed {
  producer: Producer;
  generation: number;
  topic: string;
  partition: number;
  committed: bigint | undefined;
}

class TransactionalDelivery implements Delivery {
  readonly mode = 'exactly-once' as const;
  private readonly claimed = new Map<string, Claimed>();
  private readonly claiming = new Map<string, { generation: number; promise: Promise<bigint | undefined> }>();

  constructor(private readonly o: DeliveryOptions) {}

  transactionalId(topic: string, partition: number): string {
    return `${this.o.groupId}.${topic}.${partition}`;
  }

  claim(topic: string, partition: number, generation: number): Promise<bigint | undefined> {
    const key = this.transactionalId(topic, partition);
    const current = this.claimed.get(key);
    if (current?.generation === generation) return Promise.resolve(current.committed);
    // One claim at a time per partition: the eager claim on assignment and the first batch may race.
    let pending = this.claiming.get(key);
    if (!pending || pending.generation !== generation) {
      const promise = this.claimNow(key, topic, partition, generation).finally(() => {
        if (this.claiming.get(key)?.promise === promise) this.claiming.delete(key);
      });
      pending = { generation, promise };
      this.claiming.set(key, pending);
    }
    return pending.promise;
  }

  private async claimNow(key: string, topic: string, partition: number, generation: number): Promise<bigint | undefined> {
    if (this.claimed.has(key)) await this.drop(key);
    const producer = createTransactionalProducer(this.o.kafka, key, this.o.transactionTimeoutMs);
    try {
      await producer.connect();
      // InitProducerId for this id: fences every older producer of it and settles its open transaction.
      await (await producer.transaction()).abort();
      const [offsets] = await this.o.admin.fetchOffsets({ groupId: this.o.groupId, topics: [topic] });
      const offset = offsets?.partitions.find((p) => p.partition === partition)?.offset;
      const committed = offset !== undefined && Number(offset) >= 0 ? BigInt(offset) : undefined;
      this.claimed.set(key, { producer, generation, topic, partition, committed });
      return committed;
    } catch (err) {
      await producer.disconnect().catch(() => undefined);
      throw new SystemicError('broker', `could not claim ${topic}/${partition} for transactions (${key}): ${describeKafkaError(err)}`, { cause: err });
    }
  }

  async deliver(records: OutgoingRecord[], commit: PartitionCommit): Promise<void> {
    const key = this.transactionalId(commit.topic, commit.partition);
    const claimed = this.claimed.get(key);
    if (!claimed) throw new SystemicError('broker', `${key} is not claimed; the partition is retried after a pause`);
    const transaction = await claimed.producer.transaction().catch((err: unknown) => {
      throw new SystemicError('broker', `could not begin a transaction on ${key}: ${describeKafkaError(err)}`, { cause: err });
    });
    try {
      for (const call of splitByBudget(records, this.o.budgetBytes)) await transaction.sendBatch({ acks: -1, topicMessages: byTopic(call) });
      await transaction.sendOffsets({ consumerGroupId: this.o.groupId, ...offsetsFor(commit) });
      await transaction.commit();
      this.o.onTransaction?.('committed');
    } catch (err) {
      await transaction.abort().catch(() => undefined);
      this.o.onTransaction?.('aborted');
      // Whatever happened (fenced, broker gone, commit answer lost), the next attempt re-initialises the producer
      // and re-reads the committed offset, so a transaction that did commit is never redone.
      await this.drop(key);
      const why = isFencing(err) ? 'another consumer has taken over this partition (fenced)' : 'the broker did not complete the transaction';
      throw new SystemicError('broker', `${why} on ${key}: ${describeKafkaError(err)}`, { cause: err });
    }
  }

  private async drop(key: string): Promise<void> {
    const claimed = this.claimed.get(key);
    this.claimed.delete(key);
    await claimed?.producer.disconnect().catch(() => undefined);
  }

  async retain(owned: (topic: string, partition: number) => boolean): Promise<void> {
    const gone = [...this.claimed].filter(([, c]) => !owned(c.topic, c.partition)).map(([key]) => key);
    await Promise.all(gone.map((key) => this.drop(key)));
  }

  async close(): Promise<void> {
    await Promise.all([...this.claimed.keys()].map((key) => this.drop(key)));
  }
}
