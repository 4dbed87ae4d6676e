import { describe, expect, it } from 'vitest';
import { LaneScheduler, readLaneSettings } from '../../../../platform/consumer/lane-scheduler.ts';
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

  it('reads PRIORITY_NORMAL_MIN_SHARE, refusing a share outside 0..1', () => {
    expect(readLaneSettings(new EnvReader({}))).toEqual({ normalMinShare: 0.2 });
    expect(readLaneSettings(new EnvReader({ PRIORITY_NORMAL_MIN_SHARE: '0.5' }))).toEqual({ normalMinShare: 0.5 });
    const env = new EnvReader({ PRIORITY_NORMAL_MIN_SHARE: '1.5' });
    readLaneSettings(env);
    expect(() => env.done()).toThrow(/PRIORITY_NORMAL_MIN_SHARE/);
  });
});
