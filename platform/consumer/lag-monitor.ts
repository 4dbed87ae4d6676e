/**
 * Consumer lag as an operator and an autoscaler see it: for each partition this member owns, the partition's end
 * offset minus the group's committed offset (admin API), not the position of the last fetch, which runs ahead of
 * what is done. Label sets of partitions this member no longer owns are removed.
 */
import type { Admin } from 'kafkajs';
import type { Gauge } from 'prom-client';
import type { Logger } from '../logger.ts';
import type { Assignment } from './group-tracker.ts';

export interface LagMonitorOptions {
  admin: Admin;
  /** The group whose committed offsets count. */
  groupId: string;
  gauge: Gauge<'group' | 'topic' | 'partition'>;
  assignment: () => Assignment;
  intervalMs: number;
  logger: Logger;
}

/** Pure: where the group stands on a partition; nothing committed yet (absent or -1) is the partition's start. */
export function committedPosition(end: { low: string }, committed: string | undefined): bigint {
  return committed !== undefined && BigInt(committed) >= 0n ? BigInt(committed) : BigInt(end.low);
}

/** Pure: records behind per partition; nothing committed yet counts from the partition's start. */
export function lagOf(end: { high: string; low: string }, committed: string | undefined): number {
  const high = BigInt(end.high);
  const from = committedPosition(end, committed);
  return Number(high > from ? high - from : 0n);
}

export class LagMonitor {
  private timer: NodeJS.Timeout | undefined;
  private readonly shown = new Map<string, { group: string; topic: string; partition: string }>();
  private running: Promise<void> | undefined;
  private stopped = false;

  constructor(private readonly o: LagMonitorOptions) {}

  start(): void {
    this.timer = setInterval(() => void this.refresh(), this.o.intervalMs);
    this.timer.unref();
  }

  /** One measurement now; failures are logged and the gauge keeps its last values. */
  refresh(): Promise<void> {
    this.running ??= this.measure()
      .catch((err: unknown) => this.o.logger.debug({ err }, 'lag measurement failed; retrying at the next interval'))
      .finally(() => { this.running = undefined; });
    return this.running;
  }

  private async measure(): Promise<void> {
    const assignment = this.o.assignment();
    // Revoked partitions go first, so that a failing admin call below never leaves them shown.
    this.forget((topic, partition) => assignment.get(topic)?.has(partition) ?? false);
    for (const [topic, partitions] of assignment) {
      if (partitions.size === 0) continue;
      const [ends, [committed]] = await Promise.all([
        this.o.admin.fetchTopicOffsets(topic),
        this.o.admin.fetchOffsets({ groupId: this.o.groupId, topics: [topic] }),
      ]);
      for (const end of ends) {
        if (!partitions.has(end.partition)) continue;
        const labels = { group: this.o.groupId, topic, partition: String(end.partition) };
        if (this.stopped || !this.o.assignment().get(topic)?.has(end.partition)) continue;
        this.o.gauge.set(labels, lagOf(end, committed?.partitions.find((p) => p.partition === end.partition)?.offset));
        this.shown.set(`${topic}/${end.partition}`, labels);
      }
    }
  }

  /** Removes the label sets of partitions for which `keep` is false. */
  private forget(keep: (topic: string, partition: number) => boolean): void {
    for (const [key, labels] of this.shown) {
      if (keep(labels.topic, Number(labels.partition))) continue;
      this.o.gauge.remove(labels);
      this.shown.delete(key);
    }
  }

  stop(): void {
    this.stopped = true;
    clearInterval(this.timer);
    this.forget(() => false);
  }
}
