import { describe, expect, it } from 'vitest';
import { LaneScheduler, readLaneSettings } from '../../../../platform/consumer/lane-scheduler.ts';
import { EnvReader } from '../../../../platform/config.ts';

const NORMAL = 'images.requests.v1';
const HIGH = 'images.requests.v1.high';

function scheduler(normalMinShare = 0.2, windowRecords = 320): LaneScheduler {
  return new LaneScheduler({ normalMinShare, windowRecords });
}

/** Serves chunks as the stream loop would: a normal chunk only when the scheduler lets it, else a high one. */
function simulate(s: LaneScheduler, chunks: number, chunkRecords: number): { normal: number; high: number } {
  const served = { normal: 0, high: 0 };
  for (let i = 0; i < chunks; i += 1) {
    const topic = s.mayServe(NORMAL) ? NORMAL : HIGH;
    s.served(topic, chunkRecords);
    served[topic === NORMAL ? 'normal' : 'high'] += chunkRecords;
  }
  return served;
}

describe('LaneScheduler', () => {
  it('lets the normal lane run while the high lane has nothing waiting', () => {
    const s = scheduler();
    s.observedEnd(HIGH, 0, 10n);
    s.progressed(HIGH, 0, 10n);
    for (let i = 0; i < 50; i += 1) s.served(NORMAL, 32);
    expect(s.highWaiting()).toBe(false);
    expect(s.holdNormal()).toBe(false);
    expect(s.mayServe(NORMAL)).toBe(true);
  });

  it('holds the normal lane once the high lane has records past this member\'s position, and releases it when they are served', () => {
    const s = scheduler();
    for (let i = 0; i < 20; i += 1) s.served(NORMAL, 32);
    s.progressed(HIGH, 3, 40n);
    s.observedEnd(HIGH, 3, 41n);
    expect(s.highWaiting()).toBe(true);
    expect(s.holdNormal()).toBe(true);
    expect(s.mayServe(NORMAL)).toBe(false);
    expect(s.mayServe(HIGH)).toBe(true);
    s.served(HIGH, 1);
    s.progressed(HIGH, 3, 41n);
    expect(s.highWaiting()).toBe(false);
    expect(s.mayServe(NORMAL)).toBe(true);
  });

  it('counts a partition probed before any position is known as waiting', () => {
    const s = scheduler();
    s.observedEnd(HIGH, 0, 5n);
    expect(s.highWaiting()).toBe(true);
  });

  it('never moves a position back (a committed offset read after a later delivery)', () => {
    const s = scheduler();
    s.progressed(HIGH, 0, 10n);
    s.progressed(HIGH, 0, 7n);
    s.observedEnd(HIGH, 0, 10n);
    expect(s.highWaiting()).toBe(false);
  });

  it('gives the normal lane its minimum share of records while the high lane always has work', () => {
    const s = scheduler(0.2, 320);
    s.observedEnd(HIGH, 0, 1_000_000n);
    s.progressed(HIGH, 0, 0n);
    const served = { normal: 0, high: 0 };
    for (let i = 0; i < 1_000; i += 1) {
      const topic = s.mayServe(NORMAL) ? NORMAL : HIGH;
      s.served(topic, 32);
      served[topic === NORMAL ? 'normal' : 'high'] += 32;
    }
    const share = served.normal / (served.normal + served.high);
    expect(share).toBeGreaterThanOrEqual(0.2);
    // ...and not much more: the high lane goes first.
    expect(share).toBeLessThan(0.25);
  });

  it('keeps the share when high chunks are small (a trickle of high requests, one per chunk)', () => {
    const s = scheduler(0.2, 320);
    s.observedEnd(HIGH, 0, 1_000_000n);
    s.progressed(HIGH, 0, 0n);
    let normal = 0;
    let total = 0;
    for (let i = 0; i < 5_000; i += 1) {
      const topic = s.mayServe(NORMAL) ? NORMAL : HIGH;
      const records = topic === NORMAL ? 32 : 1;
      s.served(topic, records);
      total += records;
      if (topic === NORMAL) normal += records;
    }
    expect(normal / total).toBeGreaterThanOrEqual(0.2);
  });

  it('serves the high lane only with a share of 0 (strict priority), and never holds the normal lane with a share of 1', () => {
    const strict = scheduler(0);
    strict.observedEnd(HIGH, 0, 100n);
    expect(simulate(strict, 100, 32).normal).toBe(0);
    const off = scheduler(1);
    off.observedEnd(HIGH, 0, 100n);
    for (let i = 0; i < 100; i += 1) off.served(NORMAL, 32);
    expect(off.holdNormal()).toBe(false);
  });

  it('forgets partitions this member no longer owns', () => {
    const s = scheduler();
    for (let i = 0; i < 20; i += 1) s.served(NORMAL, 32);
    s.observedEnd(HIGH, 1, 9n);
    expect(s.highWaiting()).toBe(true);
    s.retain((topic, partition) => !(topic === HIGH && partition === 1));
    expect(s.highWaiting()).toBe(false);
  });

  it('reads PRIORITY_NORMAL_MIN_SHARE and PRIORITY_PROBE_MS, refusing a share outside 0..1', () => {
    expect(readLaneSettings(new EnvReader({}))).toEqual({ normalMinShare: 0.2, probeMs: 50 });
    expect(readLaneSettings(new EnvReader({ PRIORITY_NORMAL_MIN_SHARE: '0.5', PRIORITY_PROBE_MS: '250' }))).toEqual({ normalMinShare: 0.5, probeMs: 250 });
    const env = new EnvReader({ PRIORITY_NORMAL_MIN_SHARE: '1.5' });
    readLaneSettings(env);
    expect(() => env.done()).toThrow(/PRIORITY_NORMAL_MIN_SHARE/);
  });
});
