/**
 * Partitions paused because their chunk failed for a systemic reason: each one is resumed after a capped,
 * growing backoff (the chunk is then fetched and tried again from its first unprocessed record), and readiness
 * turns false once any partition has been paused for longer than the configured time. Pure bookkeeping: the
 * kafkajs pause/resume calls and the timers are injected.
 *
 * kafkajs' resume throws while its consumer is not running (between a crash and its restart, during stop), and a
 * throw in a timer would end the process: a failed resume is reported and tried again after capMs, and detach()
 * drops every pending resume when the consumer stops (a restarted consumer starts with nothing paused).
 */
import { backoffDelay } from '../retry.ts';

export interface PauseSettings {
  /** First delay before a paused partition is retried, in milliseconds; doubles per consecutive failure. */
  baseMs: number;
  /** Longest delay between retries, in milliseconds. */
  capMs: number;
  /** Readiness turns false while any partition has been paused (without a success in between) this long. */
  notReadyAfterMs: number;
}

export interface PauseTarget {
  pause(topic: string, partition: number): void;
  resume(topic: string, partition: number): void;
  /** A resume threw; it is tried again after capMs. */
  resumeFailed?(topic: string, partition: number, err: unknown): void;
}

interface Paused {
  /** Consecutive failures since the last success. */
  failures: number;
  /** When the first of them happened. */
  since: number;
  resumeTimer: NodeJS.Timeout | undefined;
  reason: string;
}

const keyOf = (topic: string, partition: number): string => `${topic}\u0000${partition}`;

export class PartitionPauses {
  private readonly state = new Map<string, Paused>();

  constructor(
    private readonly settings: PauseSettings,
    private readonly target: PauseTarget,
    private readonly now: () => number = Date.now,
    private readonly random: () => number = Math.random,
  ) {}

  /** Pauses the partition after a systemic failure; returns the delay before it is retried. */
  pause(topic: string, partition: number, reason: string): number {
    const key = keyOf(topic, partition);
    const entry = this.state.get(key) ?? { failures: 0, since: this.now(), resumeTimer: undefined, reason };
    entry.failures += 1;
    entry.reason = reason;
    clearTimeout(entry.resumeTimer);
    const delay = backoffDelay(entry.failures, this.settings, this.random);
    this.target.pause(topic, partition);
    this.state.set(key, entry);
    this.resumeLater(key, entry, topic, partition, delay);
    return delay;
  }

  private resumeLater(key: string, entry: Paused, topic: string, partition: number, delay: number): void {
    entry.resumeTimer = setTimeout(() => {
      entry.resumeTimer = undefined;
      if (!this.tryResume(topic, partition) && this.state.get(key) === entry) this.resumeLater(key, entry, topic, partition, this.settings.capMs);
    }, delay);
    entry.resumeTimer.unref?.();
  }

  private tryResume(topic: string, partition: number): boolean {
    try {
      this.target.resume(topic, partition);
      return true;
    } catch (err) {
      this.target.resumeFailed?.(topic, partition, err);
      return false;
    }
  }

  /** A chunk of the partition went through: it is healthy again. */
  succeeded(topic: string, partition: number): void {
    const key = keyOf(topic, partition);
    const entry = this.state.get(key);
    if (!entry) return;
    clearTimeout(entry.resumeTimer);
    this.state.delete(key);
  }

  /** Consecutive systemic failures of the partition since its last success. */
  failures(topic: string, partition: number): number {
    return this.state.get(keyOf(topic, partition))?.failures ?? 0;
  }

  /** Partitions waiting for a retry (paused now) or retried but not yet successful. */
  get troubled(): number {
    return this.state.size;
  }

  /** Partitions currently held by kafkajs' pause. */
  get paused(): number {
    return [...this.state.values()].filter((e) => e.resumeTimer !== undefined).length;
  }

  /** The longest a partition has been failing without a success, in milliseconds (0: none). */
  longestMs(): number {
    const now = this.now();
    return Math.max(0, ...[...this.state.values()].map((e) => now - e.since));
  }

  healthy(): boolean {
    return this.state.size === 0 || this.longestMs() < this.settings.notReadyAfterMs;
  }

  /** Forgets partitions this member no longer owns (unpaused, so that a later owner-again fetches them). */
  retain(owned: (topic: string, partition: number) => boolean): void {
    for (const [key, entry] of this.state) {
      const [topic, partition] = key.split('\u0000') as [string, string];
      if (owned(topic, Number(partition))) continue;
      clearTimeout(entry.resumeTimer);
      if (entry.resumeTimer !== undefined) this.tryResume(topic, Number(partition));
      this.state.delete(key);
    }
  }

  /**
   * The consumer stopped (a crash kafkajs restarts, or stop): it has forgotten its pauses, so pending resumes are
   * dropped. Failures and their start are kept: the backoff grows and readiness counts on from there.
   */
  detach(): void {
    for (const entry of this.state.values()) {
      clearTimeout(entry.resumeTimer);
      entry.resumeTimer = undefined;
    }
  }

  clear(): void {
    for (const entry of this.state.values()) clearTimeout(entry.resumeTimer);
    this.state.clear();
  }
}
