/**
 * Priority lanes in one process (README "Priority lanes"): a version's consumer runs one kafkajs consumer per lane
 * (its normal topic and its high lane `<topic>.high`, laned-stream-loops.ts), each with its own fetch loop, so a
 * high request is fetched as soon as it is written, whatever the normal lane is doing. While a high batch is in
 * progress the normal lane waits before its next chunk (the chunk already running finishes), so the high chunk
 * has the CPU and the model to itself, and while the high lane is active the normal lane pauses between chunks
 * (a duty cycle, `normalPauseMs`), leaving cores to the broker and the router that pass high requests on. The
 * normal lane keeps a floor: while the high lane works it is still served
 * at least `normalMinShare` of the records, give or take one window of `windowRecords` (a credit, below), so a
 * flood of high requests slows the normal lane down but never stops it.
 *
 * Pure bookkeeping and promises: no timers, no Kafka calls (the caller sleeps the pauses).
 */
import type { EnvReader } from '../config.ts';
import type { Lane } from '../topics.ts';

export interface LaneSettings {
  /** Share of the records served the normal lane keeps while the high lane is busy (0: none). */
  normalMinShare: number;
  /** Share of the time the normal lane works while the high lane is active (1: no pauses). */
  normalDuty: number;
}

export function readLaneSettings(env: EnvReader): LaneSettings {
  return {
    normalMinShare: env.number('PRIORITY_NORMAL_MIN_SHARE', 0.2, { min: 0, max: 1 }),
    normalDuty: env.number('PRIORITY_NORMAL_DUTY', 0.3, { min: 0.05, max: 1 }),
  };
}

/** The high lane counts as active this long after its last batch. */
export const HIGH_ACTIVE_MS = 1_000;
/** A normal-lane pause is never longer than this, however long its chunk took. */
export const MAX_NORMAL_PAUSE_MS = 200;

export class LaneScheduler {
  /** High-lane batches in progress (fetched and not yet delivered). */
  private highBusy = 0;
  private readonly waiting: (() => void)[] = [];
  /**
   * The normal lane's credit in records: every record served adds normalMinShare, every normal-lane record takes
   * one away, so over any stretch the normal lane was served about normalMinShare of the records plus what the
   * credit held at its start. Kept within ±normalMinShare × windowRecords: an idle normal lane saves no more than
   * that, and after a run of normal records alone the high lane goes first for about one window.
   */
  private credit = 0;

  /** When the last high-lane batch was done (ms, the caller's clock). */
  private lastHighAt = -Infinity;

  constructor(private readonly o: { normalMinShare: number; windowRecords: number; normalDuty?: number }) {}

  /** A high-lane batch started; call `highDone` when it is delivered (or failed). */
  highStarted(): void {
    this.highBusy += 1;
  }

  highDone(now = Date.now()): void {
    this.lastHighAt = now;
    this.highBusy = Math.max(0, this.highBusy - 1);
    if (this.highBusy === 0) this.wake();
  }

  /** A chunk of `records` was served from the lane. */
  served(lane: Lane, records: number): void {
    const share = this.o.normalMinShare;
    const bound = share * this.o.windowRecords;
    const credit = this.credit + share * records - (lane === 'normal' ? records : 0);
    this.credit = Math.min(bound, Math.max(-bound, credit));
    // Served high records raise the credit: a normal chunk waiting for its share may go now.
    if (this.normalDue()) this.wake();
  }

  /** The normal lane has had less than its share of the records served lately. */
  normalDue(): boolean {
    return this.o.normalMinShare >= 1 || this.credit > 0;
  }

  /** Whether a normal-lane chunk has to wait now: the high lane is busy and the normal lane had its share. */
  holdNormal(): boolean {
    return this.highBusy > 0 && !this.normalDue();
  }

  /**
   * How long the normal lane pauses before its next chunk, after one that took `workedMs`: while the high lane is
   * active (a batch in progress or done within HIGH_ACTIVE_MS), the normal lane works `normalDuty` of the time. A
   * high request passes through the broker and the router before it reaches the consumer, and on a small machine
   * their threads waited for a core the normal lane kept busy. No pause while the normal lane is below its share.
   */
  normalPauseMs(workedMs: number, now = Date.now()): number {
    const duty = this.o.normalDuty ?? 1;
    if (duty >= 1 || this.normalDue() || (this.highBusy === 0 && now - this.lastHighAt > HIGH_ACTIVE_MS)) return 0;
    return Math.min(MAX_NORMAL_PAUSE_MS, Math.max(0, workedMs) * (1 - duty) / duty);
  }

  /** Resolves when a normal-lane chunk may start (at once unless the normal lane is held). */
  async normalTurn(): Promise<void> {
    while (this.holdNormal()) await new Promise<void>((resolve) => this.waiting.push(resolve));
  }

  /** Lets every waiting normal chunk go (on stop: they check the consumer is still running and end). */
  release(): void {
    this.highBusy = 0;
    this.wake();
  }

  private wake(): void {
    for (const resolve of this.waiting.splice(0)) resolve();
  }
}
