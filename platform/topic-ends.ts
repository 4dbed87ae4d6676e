import type { Admin } from 'kafkajs';
import { retry } from './retry.ts';

export interface PartitionEnds {
  topic: string;
  partition: number;
  /** The high watermark: the offset the next record will get. */
  high: string;
  low: string;
}

/**
 * Each partition's low and high offsets. Retried: right after a topic is created a KRaft broker can still answer
 * NOT_LEADER_OR_FOLLOWER although the metadata already names the leader, and kafkajs' admin does not retry that.
 */
export async function fetchEnds(admin: Admin, topic: string): Promise<PartitionEnds[]> {
  const offsets = await retry(() => admin.fetchTopicOffsets(topic), {
    attempts: 10, baseMs: 100, capMs: 2_000,
    isRetryable: (err) => (err as { retriable?: boolean }).retriable === true,
  });
  return offsets.map((p) => ({ topic, partition: p.partition, high: p.high, low: p.low }));
}
