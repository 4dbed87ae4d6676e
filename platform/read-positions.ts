import { randomUUID } from 'node:crypto';
import type { Admin, Consumer, Kafka, KafkaMessage } from 'kafkajs';

/** A partition's end as fetchTopicOffsets gives it. */
export interface PartitionEnd {
  partition: number;
  high: string;
  low: string;
}

/**
 * How far a consumer has read each partition of its topics, transaction markers included. Counting only the
 * records handed to the application does not tell when a topic has been read to its end: with transactions
 * the commit marker after the last record takes an offset, so the last record's offset + 1 stays below the high
 * watermark for good. kafkajs reports every processed fetch, marker-only ones too, as END_BATCH_PROCESS.
 */
export class ReadPositions {
  private readonly next = new Map<string, number>();

  constructor(consumer: Consumer) {
    consumer.on(consumer.events.END_BATCH_PROCESS, ({ payload }) => {
      const key = `${payload.topic}:${payload.partition}`;
      this.next.set(key, Math.max(this.next.get(key) ?? 0, Number(payload.lastOffset) + 1));
    });
  }

  /** The next offset to read of a partition (0 before anything was read). */
  position(topic: string, partition: number): number {
    return this.next.get(`${topic}:${partition}`) ?? 0;
  }

  /** Whether every partition has been read up to `ends` (end offsets taken earlier); empty partitions count as read. */
  reached(topic: string, ends: readonly PartitionEnd[]): boolean {
    return ends.every((p) => Number(p.high) <= Number(p.low) || this.position(topic, p.partition) >= Number(p.high));
  }
}

/**
 * Reads a whole topic from the beginning and then follows it, in a group of its own (nothing is committed):
 * what every instance needs of a compacted topic that holds state, such as experiments or rollout decisions.
 */
export class TopicFollower {
  private consumer: Consumer | undefined;
  private positions: ReadPositions | undefined;

  constructor(
    private readonly o: { kafka: Kafka; admin: Admin; topic: string; groupPrefix: string; onMessage: (message: KafkaMessage) => Promise<void> },
  ) {}

  async start(): Promise<void> {
    const consumer = this.o.kafka.consumer({ groupId: `${this.o.groupPrefix}-${randomUUID()}`, maxWaitTimeInMs: 100 });
    this.consumer = consumer;
    this.positions = new ReadPositions(consumer);
    await consumer.connect();
    await consumer.subscribe({ topic: this.o.topic, fromBeginning: true });
    await consumer.run({ autoCommit: false, eachMessage: ({ message }) => this.o.onMessage(message) });
  }

  /** Resolves once every record present at call time has been handled. */
  async caughtUp(timeoutMs = 30_000): Promise<void> {
    const ends = await this.o.admin.fetchTopicOffsets(this.o.topic);
    const deadline = Date.now() + timeoutMs;
    while (!this.positions?.reached(this.o.topic, ends)) {
      if (Date.now() > deadline) throw new Error(`topic ${this.o.topic} not read to its end within ${timeoutMs} ms; is the broker reachable?`);
      await new Promise((r) => setTimeout(r, 100));
    }
  }

  async stop(): Promise<void> {
    await this.consumer?.disconnect();
  }
}
