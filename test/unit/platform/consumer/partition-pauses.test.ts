import { Kafka } from 'kafkajs';
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { PartitionPauses, type PauseSettings } from '../../../../platform/consumer/partition-pauses.ts';

const SETTINGS: PauseSettings = { baseMs: 100, capMs: 1_000, notReadyAfterMs: 5_000 };

function setup(settings: PauseSettings = SETTINGS, random: () => number = () => 1) {
  const calls: string[] = [];
  const target = {
    pause: vi.fn((topic: string, partition: number) => calls.push(`pause ${topic}/${partition}`)),
    resume: vi.fn((topic: string, partition: number) => calls.push(`resume ${topic}/${partition}`)),
  };
  const pauses = new PartitionPauses(settings, target, () => Date.now(), random);
  return { pauses, target, calls };
}

describe('PartitionPauses', () => {
  beforeEach(() => {
    vi.useFakeTimers();
    vi.setSystemTime(1_000_000);
  });
  afterEach(() => {
    vi.useRealTimers();
  });

  it('pauses the partition at once and resumes it after the returned delay', async () => {
    const { pauses, target, calls } = setup();
    const delay = pauses.pause('t', 2, 'registry did not answer');
    expect(delay).toBe(100);
    expect(target.pause).toHaveBeenCalledWith('t', 2);
    expect(target.resume).not.toHaveBeenCalled();
    expect(pauses.paused).toBe(1);
    await vi.advanceTimersByTimeAsync(99);
    expect(target.resume).not.toHaveBeenCalled();
    await vi.advanceTimersByTimeAsync(1);
    expect(calls).toEqual(['pause t/2', 'resume t/2']);
    // Resumed, but not yet healthy: it stays troubled until a chunk goes through.
    expect(pauses.paused).toBe(0);
    expect(pauses.troubled).toBe(1);
    expect(pauses.failures('t', 2)).toBe(1);
  });

  it('doubles the delay per consecutive failure up to the cap', () => {
    const { pauses } = setup();
    const delays = Array.from({ length: 7 }, () => pauses.pause('t', 0, 'object store down'));
    expect(delays).toEqual([100, 200, 400, 800, 1_000, 1_000, 1_000]);
    expect(pauses.failures('t', 0)).toBe(7);
  });

  it('draws each delay between half and all of its ceiling from the injected random', () => {
    const low = setup(SETTINGS, () => 0).pauses;
    expect([low.pause('t', 0, 'x'), low.pause('t', 0, 'x'), low.pause('t', 0, 'x')]).toEqual([50, 100, 200]);
    const mid = setup(SETTINGS, () => 0.5).pauses;
    expect([mid.pause('t', 0, 'x'), mid.pause('t', 0, 'x')]).toEqual([75, 150]);
    const capped = setup({ ...SETTINGS, capMs: 300 }, () => 0).pauses;
    expect(Array.from({ length: 4 }, () => capped.pause('t', 0, 'x'))).toEqual([50, 100, 150, 150]);
  });

  it('keeps one resume timer per partition: a pause while paused replaces the pending resume', async () => {
    const { pauses, target } = setup();
    pauses.pause('t', 0, 'first');
    await vi.advanceTimersByTimeAsync(50);
    pauses.pause('t', 0, 'second'); // 200 ms from now
    await vi.advanceTimersByTimeAsync(100);
    expect(target.resume).not.toHaveBeenCalled();
    await vi.advanceTimersByTimeAsync(100);
    expect(target.resume).toHaveBeenCalledTimes(1);
    await vi.runAllTimersAsync();
    expect(target.resume).toHaveBeenCalledTimes(1);
  });

  it('counts each partition on its own', () => {
    const { pauses } = setup();
    pauses.pause('a', 0, 'x');
    pauses.pause('a', 0, 'x');
    expect(pauses.pause('a', 1, 'x')).toBe(100);
    expect(pauses.pause('b', 0, 'x')).toBe(100);
    expect([pauses.failures('a', 0), pauses.failures('a', 1), pauses.failures('b', 0), pauses.failures('b', 1)]).toEqual([2, 1, 1, 0]);
    expect(pauses.paused).toBe(3);
    expect(pauses.troubled).toBe(3);
  });

  it('starts over after a success', async () => {
    const { pauses } = setup();
    pauses.pause('t', 0, 'x');
    pauses.pause('t', 0, 'x');
    await vi.runAllTimersAsync();
    pauses.succeeded('t', 0);
    expect(pauses.failures('t', 0)).toBe(0);
    expect(pauses.troubled).toBe(0);
    expect(pauses.pause('t', 0, 'x')).toBe(100);
  });

  it('turns unhealthy once a partition has failed for notReadyAfterMs without a success, counted from its first failure', async () => {
    const { pauses } = setup();
    expect(pauses.healthy()).toBe(true);
    pauses.pause('t', 0, 'x');
    await vi.advanceTimersByTimeAsync(3_000);
    pauses.pause('t', 0, 'x'); // another failure does not restart the clock
    expect(pauses.longestMs()).toBe(3_000);
    await vi.advanceTimersByTimeAsync(1_999);
    expect(pauses.healthy()).toBe(true);
    await vi.advanceTimersByTimeAsync(1);
    expect(pauses.healthy()).toBe(false);
    pauses.succeeded('t', 0);
    expect(pauses.healthy()).toBe(true);
    expect(pauses.longestMs()).toBe(0);
  });

  it('measures the longest-failing partition', async () => {
    const { pauses } = setup();
    pauses.pause('t', 0, 'x');
    await vi.advanceTimersByTimeAsync(4_000);
    pauses.pause('t', 1, 'x');
    await vi.advanceTimersByTimeAsync(1_000);
    expect(pauses.longestMs()).toBe(5_000);
    expect(pauses.healthy()).toBe(false);
    pauses.succeeded('t', 0);
    expect(pauses.longestMs()).toBe(1_000);
    expect(pauses.healthy()).toBe(true);
  });

  it('forgets revoked partitions, resuming those still paused so that a later owner fetches them', async () => {
    const { pauses, target } = setup();
    pauses.pause('t', 0, 'x'); // kept
    pauses.pause('t', 1, 'x'); // revoked while paused
    pauses.pause('u', 0, 'x');
    pauses.pause('u', 0, 'x');
    await vi.advanceTimersByTimeAsync(100); // u/0 (200 ms) still paused; t/0, t/1 resumed
    pauses.pause('t', 1, 'x'); // paused again: 200 ms
    target.resume.mockClear();

    pauses.retain((topic, partition) => topic === 't' && partition === 0);
    expect(target.resume.mock.calls).toEqual([['t', 1], ['u', 0]]);
    expect(pauses.troubled).toBe(1);
    expect(pauses.paused).toBe(0);
    expect(pauses.failures('t', 1)).toBe(0);
    // Their pending resume timers are gone.
    await vi.runAllTimersAsync();
    expect(target.resume).toHaveBeenCalledTimes(2);
  });

  it('does not resume a revoked partition that kafkajs already resumed', async () => {
    const { pauses, target } = setup();
    pauses.pause('t', 1, 'x');
    await vi.runAllTimersAsync();
    expect(target.resume).toHaveBeenCalledTimes(1);
    pauses.retain(() => false);
    expect(target.resume).toHaveBeenCalledTimes(1);
    expect(pauses.troubled).toBe(0);
  });

  it('clear() cancels every pending resume', async () => {
    const { pauses, target } = setup();
    pauses.pause('t', 0, 'x');
    pauses.pause('t', 1, 'x');
    pauses.clear();
    expect(pauses.troubled).toBe(0);
    await vi.runAllTimersAsync();
    expect(target.resume).not.toHaveBeenCalled();
  });

  // PAUSED_NOT_READY_MS accepts 0 (platform/consumer/settings.ts); with nothing paused, longestMs() is 0 and
  // `0 < 0` reports the member not ready for good.
  it('is healthy with nothing paused when notReadyAfterMs is 0', () => {
    const { pauses } = setup({ ...SETTINGS, notReadyAfterMs: 0 });
    expect(pauses.healthy()).toBe(true);
  });

  // kafkajs' consumer.resume throws "Consumer group was not initialized" whenever its consumer group is gone:
  // before run, during stop and between a crash and its restart. A throw in the timer ended the process.
  describe('with the consumer not running', () => {
    /** kafkajs' own consumer, never run: its resume throws as it does between a crash and the restart. */
    function notRunning() {
      const consumer = new Kafka({ brokers: ['127.0.0.1:9'], logLevel: 0 }).consumer({ groupId: 'unused' });
      let running = false;
      const resumed: string[] = [];
      const failed: string[] = [];
      const pauses = new PartitionPauses(SETTINGS, {
        pause: () => undefined,
        resume: (topic, partition) => {
          if (!running) consumer.resume([{ topic, partitions: [partition] }]);
          resumed.push(`${topic}/${partition}`);
        },
        resumeFailed: (topic, partition, err) => failed.push(`${topic}/${partition}: ${(err as Error).message}`),
      }, () => Date.now(), () => 1);
      return { pauses, resumed, failed, start: () => { running = true; } };
    }

    it('reports a resume that throws instead of throwing from the timer, and tries again after capMs', async () => {
      const { pauses, resumed, failed, start } = notRunning();
      pauses.pause('t', 0, 'x');
      await vi.advanceTimersByTimeAsync(100);
      expect(failed).toEqual(['t/0: Consumer group was not initialized, consumer#run must be called first']);
      expect(resumed).toEqual([]);
      expect(pauses.paused).toBe(1);
      await vi.advanceTimersByTimeAsync(1_000);
      expect(failed).toHaveLength(2);
      start();
      await vi.advanceTimersByTimeAsync(1_000);
      expect(resumed).toEqual(['t/0']);
      expect(pauses.paused).toBe(0);
      await vi.runAllTimersAsync();
      expect(failed).toHaveLength(2);
    });

    it('does not throw from retain either', () => {
      const { pauses, failed } = notRunning();
      pauses.pause('t', 0, 'x');
      expect(() => pauses.retain(() => false)).not.toThrow();
      expect(failed).toHaveLength(1);
      expect(pauses.troubled).toBe(0);
    });

    it('detach() drops pending resumes but keeps the failures and readiness clock', async () => {
      const { pauses, resumed, failed } = notRunning();
      pauses.pause('t', 0, 'x');
      pauses.pause('t', 1, 'x');
      await vi.advanceTimersByTimeAsync(50);
      pauses.detach();
      expect(pauses.paused).toBe(0);
      expect(pauses.troubled).toBe(2);
      await vi.runAllTimersAsync();
      expect([resumed, failed]).toEqual([[], []]);
      await vi.advanceTimersByTimeAsync(5_000);
      expect(pauses.healthy()).toBe(false);
      // The restarted consumer fetches the partition again; another failure backs off further.
      expect(pauses.pause('t', 0, 'x')).toBe(200);
    });
  });
});
