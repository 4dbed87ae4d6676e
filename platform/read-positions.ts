import type { Consumer } from 'kafkajs';

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
