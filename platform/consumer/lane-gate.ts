/**
 * Applies the lane scheduler (lane-scheduler.ts) to a running consumer: probes the high lane's end offsets every
 * PRIORITY_PROBE_MS (and the group's committed offsets while this member's position on a partition is unknown), and pauses the normal-lane partitions this member owns
 * while the scheduler holds them (resumed once it does not, unless a systemic failure still holds them).
 */
import type { Admin } from 'kafkajs';
import type { Counter, Gauge } from 'prom-client';
import type { Logger } from '../logger.ts';
import type { Assignment } from './group-tracker.ts';
import { committedPosition } from './lag-monitor.ts';
import type { LaneScheduler } from './lane-scheduler.ts';
import type { PauseHolds } from './pause-holds.ts';

export interface LaneGateOptions {
  scheduler: LaneScheduler;
  holds: PauseHolds;
  admin: Admin;
  groupId: string;
  assignment: () => Assignment;
  probeMs: number;
  metrics: { held: Gauge<'group'>; yields: Counter<'group'> };
  logger: Logger;
}

export class LaneGate {
  /** Normal-lane partitions this gate has paused, as `topic\0partition`. */
  private readonly held = new Set<string>();
  private timer: NodeJS.Timeout | undefined;
  private probing: Promise<void> | undefined;
  private stopped = false;

  constructor(private readonly o: LaneGateOptions) {}

  start(): void {
    this.timer = setInterval(() => void this.probe(), this.o.probeMs);
    this.timer.unref();
  }

  /** Whether a chunk of this partition may run now; a refusal pauses the lane before the batch stops. */
  mayServe(topic: string): boolean {
    if (this.o.scheduler.mayServe(topic)) return true;
    this.o.metrics.yields.inc({ group: this.o.groupId });
    this.apply();
    return false;
  }

  served(topic: string, records: number): void {
    this.o.scheduler.served(topic, records);
    this.apply();
  }

  reached(topic: string, partition: number, next: bigint): void {
    this.o.scheduler.progressed(topic, partition, next);
    if (this.o.scheduler.laneOf(topic) === 'high') this.apply();
  }

  /** One probe now: end and committed offsets of the high lane's owned partitions. */
  probe(): Promise<void> {
    this.probing ??= this.measure()
      .catch((err: unknown) => this.o.logger.debug({ err }, 'high-lane probe failed; retried at the next interval'))
      .finally(() => { this.probing = undefined; });
    return this.probing;
  }

  private async measure(): Promise<void> {
    for (const [topic, partitions] of this.o.assignment()) {
      if (partitions.size === 0 || this.o.scheduler.laneOf(topic) !== 'high') continue;
      // The committed offsets only until this member knows its own position on every partition: one request a
      // probe instead of two.
      const unknown = [...partitions].some((p) => !this.o.scheduler.knows(topic, p));
      const [ends, [committed]] = await Promise.all([
        this.o.admin.fetchTopicOffsets(topic),
        unknown ? this.o.admin.fetchOffsets({ groupId: this.o.groupId, topics: [topic] }) : Promise.resolve([undefined]),
      ]);
      if (this.stopped) return;
      for (const end of ends) {
        if (!partitions.has(end.partition) || !this.o.assignment().get(topic)?.has(end.partition)) continue;
        if (committed !== undefined) {
          const offset = committed.partitions.find((p) => p.partition === end.partition)?.offset;
          this.o.scheduler.progressed(topic, end.partition, committedPosition(end, offset));
        }
        this.o.scheduler.observedEnd(topic, end.partition, BigInt(end.high));
      }
    }
    this.apply();
  }

  /** Pauses or resumes the owned normal-lane partitions to match the scheduler. */
  apply(): void {
    if (this.stopped) return;
    const hold = this.o.scheduler.holdNormal();
    for (const [topic, partitions] of this.o.assignment()) {
      if (this.o.scheduler.laneOf(topic) !== 'normal') continue;
      for (const partition of partitions) {
        const key = `${topic}\u0000${partition}`;
        if (hold === this.held.has(key)) continue;
        try {
          if (hold) this.o.holds.hold(topic, partition, 'lane');
          else this.o.holds.release(topic, partition, 'lane');
          if (hold) this.held.add(key);
          else this.held.delete(key);
        } catch (err) {
          // kafkajs refuses while its consumer restarts; the next chunk or probe tries again.
          this.o.logger.debug({ topic, partition, err: (err as Error).message }, 'lane pause or resume failed; tried again later');
        }
      }
    }
    this.o.metrics.held.set({ group: this.o.groupId }, this.held.size);
  }

  /** After a rebalance: forgets what this member no longer owns (resumed, so that an owner-again fetches it). */
  retain(owned: (topic: string, partition: number) => boolean): void {
    this.o.scheduler.retain(owned);
    for (const key of [...this.held]) {
      const [topic, partition] = key.split('\u0000') as [string, string];
      if (owned(topic, Number(partition))) continue;
      this.held.delete(key);
      try {
        this.o.holds.release(topic, Number(partition), 'lane');
      } catch {
        // Not running: nothing is paused in kafkajs anyway.
      }
    }
    this.apply();
  }

  /** The consumer stopped or crashed: kafkajs forgot its pauses; a restart joins again and the gate re-applies. */
  detach(): void {
    this.held.clear();
    this.o.metrics.held.set({ group: this.o.groupId }, 0);
  }

  stop(): void {
    this.stopped = true;
    clearInterval(this.timer);
  }
}
