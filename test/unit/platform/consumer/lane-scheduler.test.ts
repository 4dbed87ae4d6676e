import { describe, expect, it } from 'vitest';
import { HIGH_ACTIVE_MS, LaneScheduler, MAX_NORMAL_PAUSE_MS, readLaneSettings } from '../../../../platform/consumer/lane-scheduler.ts';
import { EnvReader } from '../../../../platform/config.ts';

function scheduler(normalMinShare = 0.2, windowRecords = 320): LaneScheduler {
  return new LaneScheduler({ normalMinShare, windowRecords });
}

/** Whether the promise settled within a few turns of the event loop. */
async function settled(p: Promise<void>): Promise<boolean> {
  let done = false;
  void p.then(() => { done = true; });
  for (let i = 0; i < 5; i += 1) await Promise.resolve();
  return done;
}

/**
 * Serves chunks as the two lanes' loops would while the high lane always has a batch in progress: a normal chunk
 * whenever the scheduler lets one start, else a high one.
 */
function simulate(s: LaneScheduler, chunks: number, records: { normal: number; high: number }): { normal: number; high: number } {
  const served = { normal: 0, high: 0 };
  s.highStarted();
  for (let i = 0; i < chunks; i += 1) {
    const lane = s.holdNormal() ? 'high' : 'normal';
    s.served(lane, records[lane]);
    served[lane] += records[lane];
  }
  return served;
}

describe('LaneScheduler', () => {
  it('lets the normal lane run while no high batch is in progress', async () => {
    const s = scheduler();
    for (let i = 0; i < 50; i += 1) s.served('normal', 32);
    expect(s.holdNormal()).toBe(false);
    expect(await settled(s.normalTurn())).toBe(true);
  });

  it('holds the normal lane while a high batch is in progress, and lets it go when the batch is done', async () => {
    const s = scheduler();
    for (let i = 0; i < 20; i += 1) s.served('normal', 32);
    s.highStarted();
    expect(s.holdNormal()).toBe(true);
    const turn = s.normalTurn();
    expect(await settled(turn)).toBe(false);
    s.served('high', 1);
    s.highDone();
    expect(await settled(turn)).toBe(true);
  });

  it('holds until the last of several high batches (partitions consumed concurrently) is done', async () => {
    const s = scheduler(0);
    s.highStarted();
    s.highStarted();
    const turn = s.normalTurn();
    s.highDone();
    expect(await settled(turn)).toBe(false);
    s.highDone();
    expect(await settled(turn)).toBe(true);
  });

  it('lets a waiting normal chunk go once served high records have given the normal lane credit again', async () => {
    const s = scheduler(0.2, 320);
    for (let i = 0; i < 20; i += 1) s.served('normal', 32);
    s.highStarted();
    const turn = s.normalTurn();
    expect(await settled(turn)).toBe(false);
    // The credit fell to its floor, -0.2 × 320 records; each high record served adds 0.2.
    for (let i = 0; i < 10; i += 1) s.served('high', 32);
    expect(await settled(turn)).toBe(false);
    s.served('high', 32);
    expect(s.normalDue()).toBe(true);
    expect(await settled(turn)).toBe(true);
  });

  it('gives the normal lane its minimum share of records while the high lane always has work', () => {
    const served = simulate(scheduler(0.2, 320), 1_000, { normal: 32, high: 32 });
    const share = served.normal / (served.normal + served.high);
    expect(share).toBeGreaterThanOrEqual(0.2);
    // ...and not much more: the high lane goes first.
    expect(share).toBeLessThan(0.25);
  });

  it('keeps the share when high chunks are small (a trickle of high requests, one per chunk)', () => {
    const served = simulate(scheduler(0.2, 320), 5_000, { normal: 32, high: 1 });
    expect(served.normal / (served.normal + served.high)).toBeGreaterThanOrEqual(0.2);
  });

  it('serves the high lane only with a share of 0 (strict priority), and never holds the normal lane with a share of 1', () => {
    expect(simulate(scheduler(0), 100, { normal: 32, high: 32 }).normal).toBe(0);
    const off = scheduler(1);
    off.highStarted();
    for (let i = 0; i < 100; i += 1) off.served('normal', 32);
    expect(off.holdNormal()).toBe(false);
  });

  it('lets every waiting chunk go on release (the consumer stops)', async () => {
    const s = scheduler(0);
    s.highStarted();
    const turn = s.normalTurn();
    s.release();
    expect(await settled(turn)).toBe(true);
    s.highDone();
    expect(s.holdNormal()).toBe(false);
  });

  it('reads PRIORITY_NORMAL_MIN_SHARE and PRIORITY_NORMAL_DUTY, refusing values out of range', () => {
    expect(readLaneSettings(new EnvReader({}))).toEqual({ normalMinShare: 0.2, normalDuty: 0.3 });
    expect(readLaneSettings(new EnvReader({ PRIORITY_NORMAL_MIN_SHARE: '0.5', PRIORITY_NORMAL_DUTY: '1' }))).toEqual({ normalMinShare: 0.5, normalDuty: 1 });
    for (const [name, value] of [['PRIORITY_NORMAL_MIN_SHARE', '1.5'], ['PRIORITY_NORMAL_DUTY', '0'], ['PRIORITY_NORMAL_DUTY', '2']]) {
      const env = new EnvReader({ [name as string]: value as string });
      readLaneSettings(env);
      expect(() => env.done()).toThrow(new RegExp(name as string));
    }
  });
});

describe('LaneScheduler.normalPauseMs: the duty cycle while the high lane is active', () => {
  const withDuty = (normalDuty: number, normalMinShare = 0.2): LaneScheduler => new LaneScheduler({ normalMinShare, windowRecords: 320, normalDuty });
  /** The normal lane has had more than its share: its credit is spent. */
  const pastShare = (s: LaneScheduler): LaneScheduler => {
    for (let i = 0; i < 20; i += 1) s.served('normal', 32);
    return s;
  };

  it('pauses as long as the chunk took at duty 0.5, and a quarter of it at duty 0.8, while a high batch is in progress', () => {
    const half = pastShare(withDuty(0.5));
    half.highStarted();
    expect(half.normalPauseMs(40, 0)).toBeCloseTo(40);
    const light = pastShare(withDuty(0.8));
    light.highStarted();
    expect(light.normalPauseMs(40, 0)).toBeCloseTo(10);
  });

  it('keeps pausing for HIGH_ACTIVE_MS after the last high batch, then stops', () => {
    const s = pastShare(withDuty(0.5));
    s.highStarted();
    s.highDone(10_000);
    expect(s.normalPauseMs(20, 10_000 + HIGH_ACTIVE_MS)).toBeCloseTo(20);
    expect(s.normalPauseMs(20, 10_000 + HIGH_ACTIVE_MS + 1)).toBe(0);
  });

  it('never pauses with no high batch yet, at duty 1, or while the normal lane is below its share', () => {
    expect(pastShare(withDuty(0.5)).normalPauseMs(50, 0)).toBe(0);
    const off = pastShare(withDuty(1));
    off.highStarted();
    expect(off.normalPauseMs(50, 0)).toBe(0);
    const owed = withDuty(0.5);
    owed.highStarted();
    owed.served('high', 320);
    expect(owed.normalDue()).toBe(true);
    expect(owed.normalPauseMs(50, 0)).toBe(0);
  });

  it('caps a pause at MAX_NORMAL_PAUSE_MS', () => {
    const s = pastShare(withDuty(0.1));
    s.highStarted();
    expect(s.normalPauseMs(1_000, 0)).toBe(MAX_NORMAL_PAUSE_MS);
  });
});
