/**
 * Priority lanes in the consume loop (README "Priority lanes"): a consumer reads its version's normal topic and
 * its high lane (`<topic>.high`). While the high lane has records waiting, normal-lane partitions are paused and a
 * normal batch in progress stops at its next chunk (what it finished is committed, the rest is fetched again
 * later), so high records wait for at most the chunks already running. The normal lane keeps a floor: while
 * both lanes have records waiting it is served at least `normalMinShare` of the records, give or take one window
 * of `windowRecords` (a credit, below), so a flood of high requests slows the normal lane down but never stops it.
 *
 * The high lane is waiting when a partition's end offset (read through the admin API every PRIORITY_PROBE_MS)
 * is past the position this member has reached on it: the offset after its last delivered chunk, after an empty
 * batch of transaction markers or aborted records, or the group's committed offset, whichever is furthest.
 *
 * Pure bookkeeping: no timers, no Kafka calls; the stream loop feeds it and applies `holdNormal()`.
 */
import type { EnvReader } from '../config.ts';
import { laneOfTopic, type Lane } from '../topics.ts';

export interface LaneSettings {
  /** Share of the records served the normal lane keeps while the high lane has records waiting (0: none). */
  normalMinShare: number;
  /** How often the high lane's end offsets are read, in milliseconds. */
  probeMs: number;
}

export function readLaneSettings(env: EnvReader): LaneSettings {
  return {
    normalMinShare: env.number('PRIORITY_NORMAL_MIN_SHARE', 0.2, { min: 0, max: 1 }),
    // Half of it is the mean wait of a high request behind a backlog before the normal lane yields (bench/priority.ts).
    probeMs: env.int('PRIORITY_PROBE_MS', 50, { min: 10, max: 60_000 }),
  };
}

const keyOf = (topic: string, partition: number): string => `${topic}\u0000${partition}`;

export class LaneScheduler {
  /** Per partition of either lane: the next offset this member has to serve. */
  private readonly positions = new Map<string, bigint>();
  /** Per high-lane partition: its end offset when last probed. */
  private readonly ends = new Map<string, bigint>();
  /**
   * The normal lane's credit in records: every record served adds normalMinShare, every normal-lane record takes
   * one away, so over any stretch the normal lane was served about normalMinShare of the records plus what the
   * credit held at its start. Kept within ±normalMinShare × windowRecords: an idle normal lane saves no more than
   * that, and after a run of normal records alone the high lane goes first for about one window.
   */
  private credit = 0;

  constructor(private readonly o: { normalMinShare: number; windowRecords: number; laneOf?: (topic: string) => Lane }) {}

  laneOf(topic: string): Lane {
    return (this.o.laneOf ?? laneOfTopic)(topic);
  }

  /** The partition has been served up to (not including) `next`; positions only move forward. */
  progressed(topic: string, partition: number, next: bigint): void {
    const key = keyOf(topic, partition);
    const known = this.positions.get(key);
    if (known === undefined || next > known) this.positions.set(key, next);
  }

  /** Whether this member knows how far it has served the partition (else the group's committed offset tells). */
  knows(topic: string, partition: number): boolean {
    return this.positions.has(keyOf(topic, partition));
  }

  /** The high-lane partition's end offset, as last probed. */
  observedEnd(topic: string, partition: number, end: bigint): void {
    this.ends.set(keyOf(topic, partition), end);
  }

  /** A chunk of `records` was served from `topic`'s lane. */
  served(topic: string, records: number): void {
    const share = this.o.normalMinShare;
    const bound = share * this.o.windowRecords;
    const credit = this.credit + share * records - (this.laneOf(topic) === 'normal' ? records : 0);
    this.credit = Math.min(bound, Math.max(-bound, credit));
  }

  /** Some high-lane partition this member owns has records past its position. */
  highWaiting(): boolean {
    for (const [key, end] of this.ends) {
      const position = this.positions.get(key);
      if (position === undefined || end > position) return true;
    }
    return false;
  }

  /** The normal lane has had less than its share of the records served lately. */
  normalDue(): boolean {
    return this.o.normalMinShare >= 1 || this.credit > 0;
  }

  /** Whether normal-lane partitions should be paused now: the high lane waits and the normal lane had its share. */
  holdNormal(): boolean {
    return this.highWaiting() && !this.normalDue();
  }

  /** Checked before each chunk: a normal-lane chunk yields while the normal lane is held. */
  mayServe(topic: string): boolean {
    return this.laneOf(topic) === 'high' || !this.holdNormal();
  }

  /** Forgets partitions this member no longer owns (a new owner starts from the committed offset). */
  retain(owned: (topic: string, partition: number) => boolean): void {
    for (const map of [this.positions, this.ends]) {
      for (const key of map.keys()) {
        const [topic, partition] = key.split('\u0000') as [string, string];
        if (!owned(topic, Number(partition))) map.delete(key);
      }
    }
  }
}
