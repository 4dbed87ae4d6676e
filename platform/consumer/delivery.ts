/**
 * How a chunk's outputs and its consumed offsets reach the broker.
 * - exactly-once: one Kafka transaction per chunk holds the outputs, the dead letters and the consumed offset,
 *   through a transactional producer per input partition (transactional id `<group>.<topic>.<partition>`).
 *   kafkajs has no KIP-447 group-generation fencing, so the per-partition id is what fences a zombie: whoever
 *   processes the partition first initialises its producer, which aborts or completes the previous owner's open
 *   transaction and makes the previous owner's next commit fail; then it reads the committed offset again and
 *   skips what the previous owner already committed, and, as it commits, what it has committed itself (kafkajs may
 *   fetch a kept partition again from older committed offsets after a rejoin). A member claims once per ownership
 *   (claims.ts, GroupTracker.ownedSince): a partition kept across a rejoin keeps its producer. Had someone else claimed it
 *   meanwhile (a generation this member missed), that kept producer is fenced: its transaction fails and the
 *   retry claims anew, so exactly-once holds either way.
 * - at-least-once: outputs with acks=all through the shared idempotent producer, then the offset commit. A crash
 *   between the two redelivers the chunk (duplicates, never losses).
 */
import type { Admin, Kafka, Producer } from 'kafkajs';
import { SystemicError } from '../errors.ts';
import { createTransactionalProducer } from '../kafka.ts';
import type { Logger } from '../logger.ts';
import { byTopic, splitByBudget, type OutgoingRecord } from '../produce-budget.ts';
import { ClaimSuperseded, Claims, type Opened } from './claims.ts';
import { describeKafkaError, isFencing } from './kafka-errors.ts';

export type DeliveryMode = 'exactly-once' | 'at-least-once';

export interface PartitionCommit {
  topic: string;
  partition: number;
  /** The next offset to read: one past the chunk's last record (and past trailing transaction markers). */
  offset: string;
  /** The ownership the batch was claimed for (GroupTracker.ownedSince). */
  ownership: number;
}

/** The consumer-group commit kafkajs hands to eachBatch. */
export type CommitOffsets = (offsets: { topics: { topic: string; partitions: { partition: number; offset: string }[] }[] }) => Promise<void>;

export interface Delivery {
  readonly mode: DeliveryMode;
  /**
   * Makes this member the partition's writer for the ownership (GroupTracker.ownedSince; a no-op when it already
   * is) and returns the committed offset read after taking over, below which records are already done (undefined:
   * nothing to skip). A partition kept across a rejoin keeps its ownership and its writer.
   */
  claim(topic: string, partition: number, ownership: number): Promise<bigint | undefined>;
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
  /** Counts transactional producers created (one per claim that reaches the broker). */
  onProducerCreated?: () => void;
}

export function createDelivery(mode: DeliveryMode, o: DeliveryOptions): Delivery {
  return mode === 'exactly-once' ? new TransactionalDelivery(o) : new AtLeastOnceDelivery(o);
}

const offsetsFor = (c: Omit<PartitionCommit, 'ownership'>) => ({ topics: [{ topic: c.topic, partitions: [{ partition: c.partition, offset: c.offset }] }] });

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

class TransactionalDelivery implements Delivery {
  readonly mode = 'exactly-once' as const;
  private readonly claims = new Claims<Producer>((producer) => producer.disconnect().catch(() => undefined));
  /** Which partition each claimed transactional id is for. */
  private readonly partitions = new Map<string, { topic: string; partition: number }>();

  constructor(private readonly o: DeliveryOptions) {}

  transactionalId(topic: string, partition: number): string {
    return `${this.o.groupId}.${topic}.${partition}`;
  }

  async claim(topic: string, partition: number, ownership: number): Promise<bigint | undefined> {
    const key = this.transactionalId(topic, partition);
    this.partitions.set(key, { topic, partition });
    return (await this.claims.claim(key, ownership, (stillWanted) => this.open(key, topic, partition, stillWanted))).committed;
  }

  private async open(key: string, topic: string, partition: number, stillWanted: () => void): Promise<Opened<Producer>> {
    const producer = createTransactionalProducer(this.o.kafka, key, this.o.transactionTimeoutMs);
    this.o.onProducerCreated?.();
    try {
      // InitProducerId for this id: fences every older producer of it and settles its open transaction.
      await producer.connect();
      stillWanted();
      await (await producer.transaction()).abort();
      const [offsets] = await this.o.admin.fetchOffsets({ groupId: this.o.groupId, topics: [topic] });
      const offset = offsets?.partitions.find((p) => p.partition === partition)?.offset;
      return { writer: producer, committed: offset !== undefined && Number(offset) >= 0 ? BigInt(offset) : undefined };
    } catch (err) {
      await producer.disconnect().catch(() => undefined);
      if (err instanceof ClaimSuperseded) throw err;
      throw new SystemicError('broker', `could not claim ${topic}/${partition} for transactions (${key}): ${describeKafkaError(err)}`, { cause: err });
    }
  }

  async deliver(records: OutgoingRecord[], commit: PartitionCommit): Promise<void> {
    const key = this.transactionalId(commit.topic, commit.partition);
    const claimed = this.claims.get(key);
    // A writer of another ownership must not commit this batch: someone else may have written meanwhile.
    if (claimed?.ownership !== commit.ownership) throw new SystemicError('broker', `${key} is not claimed for this batch's ownership; the partition is retried after a pause`);
    const transaction = await claimed.writer.transaction().catch((err: unknown) => {
      throw new SystemicError('broker', `could not begin a transaction on ${key}: ${describeKafkaError(err)}`, { cause: err });
    });
    try {
      for (const call of splitByBudget(records, this.o.budgetBytes)) await transaction.sendBatch({ acks: -1, topicMessages: byTopic(call) });
      await transaction.sendOffsets({ consumerGroupId: this.o.groupId, ...offsetsFor(commit) });
      await transaction.commit();
      this.claims.advance(claimed, BigInt(commit.offset));
      this.o.onTransaction?.('committed');
    } catch (err) {
      await transaction.abort().catch(() => undefined);
      this.o.onTransaction?.('aborted');
      // Whatever happened (fenced, broker gone, commit answer lost), the next attempt re-initialises the producer
      // and re-reads the committed offset, so a transaction that did commit is never redone.
      await this.claims.discard(key, claimed);
      const why = isFencing(err) ? 'another consumer has taken over this partition (fenced)' : 'the broker did not complete the transaction';
      throw new SystemicError('broker', `${why} on ${key}: ${describeKafkaError(err)}`, { cause: err });
    }
  }

  async retain(owned: (topic: string, partition: number) => boolean): Promise<void> {
    const gone = this.claims.keys().filter((key) => {
      const p = this.partitions.get(key);
      return p !== undefined && !owned(p.topic, p.partition);
    });
    await Promise.all(gone.map((key) => this.claims.release(key)));
  }

  async close(): Promise<void> {
    await this.claims.releaseAll();
  }
}
