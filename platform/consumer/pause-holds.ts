/**
 * One kafkajs pause per partition, shared by its reasons: a systemic failure's backoff (partition-pauses.ts) and
 * priority lanes (lane-scheduler.ts) each hold a partition, and it is resumed only once no reason holds it, so a
 * lane release never resumes a partition still backing off, nor the other way round.
 */
import type { PauseTarget } from './partition-pauses.ts';

export type PauseReason = 'systemic' | 'lane';

const keyOf = (topic: string, partition: number): string => `${topic}\u0000${partition}`;

export class PauseHolds {
  private readonly holds = new Map<string, Set<PauseReason>>();

  constructor(private readonly target: Pick<PauseTarget, 'pause' | 'resume'>) {}

  hold(topic: string, partition: number, reason: PauseReason): void {
    const key = keyOf(topic, partition);
    const reasons = this.holds.get(key) ?? new Set<PauseReason>();
    if (reasons.size === 0) this.target.pause(topic, partition);
    reasons.add(reason);
    this.holds.set(key, reasons);
  }

  /** Resumes the partition when no other reason holds it; a throwing resume is the caller's to retry. */
  release(topic: string, partition: number, reason: PauseReason): void {
    const key = keyOf(topic, partition);
    const reasons = this.holds.get(key);
    reasons?.delete(reason);
    if (reasons !== undefined && reasons.size > 0) return;
    this.holds.delete(key);
    this.target.resume(topic, partition);
  }

  has(topic: string, partition: number, reason: PauseReason): boolean {
    return this.holds.get(keyOf(topic, partition))?.has(reason) ?? false;
  }

  /** The consumer stopped: kafkajs forgot its pauses. */
  clear(): void {
    this.holds.clear();
  }
}
