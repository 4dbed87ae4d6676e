/**
 * How far a consumer has read each partition, counting what kafkajs hides from the handlers: transaction
 * markers and aborted records take offsets too, so "the last record I saw + 1" can stay below the end offset for
 * good. kafkajs reports every fetched batch's last offset (markers included) in its END_BATCH_PROCESS event.
 */
import type { Consumer } from 'kafkajs';

export interface PartitionEnd {
  topic: string;
  partition: number;
  /** The offset the next record will get. */
  high: string;
  low: string;
}

export class ReadProgress {
  private readonly next = new Map<string, bigint>();

  constructor(consumer: Consumer) {
    consumer.on(consumer.events.END_BATCH_PROCESS, ({ payload }) => {
      const key = `${payload.topic}\u0000${payload.partition}`;
      const next = BigInt(payload.lastOffset) + 1n;
      if (next > (this.next.get(key) ?? -1n)) this.next.set(key, next);
    });
  }

  /** The offset after the last one fetched and handled (markers included); undefined before the first batch. */
  nextOffset(topic: string, partition: number): bigint | undefined {
    return this.next.get(`${topic}\u0000${partition}`);
  }

  /** Whether every partition has been read up to the given ends (empty partitions count as read). */
  hasReached(ends: readonly PartitionEnd[]): boolean {
    return ends.every((e) => BigInt(e.high) <= BigInt(e.low) || (this.nextOffset(e.topic, e.partition) ?? -1n) >= BigInt(e.high));
  }
}
