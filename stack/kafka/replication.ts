/**
 * A cluster's replication as an operator checks it between steps of a rolling restart: partitions whose in-sync
 * replicas are fewer than their replicas, and who leads a partition. From metadata, over every topic (internal ones
 * included); the judgement on it is pure.
 */
import type { Admin, PartitionMetadata } from 'kafkajs';

export interface PartitionReplication {
  topic: string;
  partition: number;
  leader: number;
  replicas: number[];
  isr: number[];
}

export async function replicationOf(admin: Admin, topics?: string[]): Promise<PartitionReplication[]> {
  const { topics: meta } = await admin.fetchTopicMetadata(topics ? { topics } : undefined);
  return meta.flatMap((t) => t.partitions.map((p: PartitionMetadata) => ({
    topic: t.name, partition: p.partitionId, leader: p.leader, replicas: p.replicas, isr: p.isr,
  })));
}

/** Pure: partitions with fewer in-sync replicas than replicas, or without a leader. */
export function underReplicated(partitions: readonly PartitionReplication[]): PartitionReplication[] {
  return partitions.filter((p) => p.leader < 0 || p.isr.length < p.replicas.length);
}

/** Polls until no partition is under-replicated (the step an operator waits for between restarts). */
export async function waitUntilFullyReplicated(admin: Admin, timeoutMs: number): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  let last: PartitionReplication[] = [];
  for (;;) {
    last = await replicationOf(admin).then(underReplicated, () => last);
    if (last.length === 0) return;
    if (Date.now() > deadline) {
      throw new Error(`${last.length} partitions still under-replicated after ${timeoutMs / 1000} s, e.g. ${last.slice(0, 3).map((p) => `${p.topic}/${p.partition} isr ${p.isr.join(',')} of ${p.replicas.join(',')}`).join('; ')}`);
    }
    await new Promise((r) => setTimeout(r, 500));
  }
}

/** Pure: whether `node` has left the ISR of some partition it replicates (after a pause longer than the lag bound). */
export function outOfSomeIsr(partitions: readonly PartitionReplication[], node: number): boolean {
  return partitions.some((p) => p.replicas.includes(node) && !p.isr.includes(node));
}
