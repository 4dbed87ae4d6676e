import { afterEach, describe, expect, it, vi } from 'vitest';
import { mapWithConcurrency } from '../../../platform/concurrency.ts';
import { PipelineError } from '../../../platform/errors.ts';
import { backoffDelay, retry } from '../../../platform/retry.ts';

const transient = () => new PipelineError('fetch', 'Timeout', 'slow', true);

describe('backoffDelay', () => {
  it('doubles from base up to the cap, with half the delay jittered', () => {
    const policy = { baseMs: 100, capMs: 1000 };
    expect([1, 2, 3, 4, 5, 6].map((n) => backoffDelay(n, policy, () => 0))).toEqual([50, 100, 200, 400, 500, 500]);
    expect([1, 2, 3, 4, 5, 6].map((n) => backoffDelay(n, policy, () => 1))).toEqual([100, 200, 400, 800, 1000, 1000]);
  });
});

describe('retry', () => {
  afterEach(() => {
    vi.useRealTimers();
  });

  it('waits the backoff schedule between transient failures, then succeeds', async () => {
    vi.useFakeTimers();
    const fn = vi.fn<(attempt: number) => Promise<string>>().mockRejectedValueOnce(transient()).mockRejectedValueOnce(transient()).mockResolvedValue('ok');
    const delays: number[] = [];
    const result = retry(fn, {
      attempts: 5,
      baseMs: 100,
      capMs: 150,
      random: () => 0.5,
      isRetryable: (e) => e instanceof PipelineError && e.transient,
      onRetry: (_e, _attempt, delay) => delays.push(delay),
    });
    await vi.advanceTimersByTimeAsync(0);
    expect(fn).toHaveBeenCalledTimes(1);
    await vi.advanceTimersByTimeAsync(74);
    expect(fn).toHaveBeenCalledTimes(1);
    await vi.advanceTimersByTimeAsync(1);
    expect(fn).toHaveBeenCalledTimes(2);
    await vi.advanceTimersByTimeAsync(112.5);
    expect(fn).toHaveBeenCalledTimes(3);
    await expect(result).resolves.toBe('ok');
    expect(delays).toEqual([75, 112.5]);
    expect(fn.mock.calls.map(([attempt]) => attempt)).toEqual([1, 2, 3]);
  });

  it('gives up after the configured attempts with the last error', async () => {
    vi.useFakeTimers();
    const fn = vi.fn(async () => {
      throw transient();
    });
    const result = retry(fn, { attempts: 3, baseMs: 10, capMs: 10, isRetryable: () => true });
    const assertion = expect(result).rejects.toMatchObject({ errorClass: 'Timeout' });
    await vi.runAllTimersAsync();
    await assertion;
    expect(fn).toHaveBeenCalledTimes(3);
  });

  it('rethrows a non-retryable error at once', async () => {
    const fn = vi.fn(async () => {
      throw new PipelineError('fetch', 'NotFound', 'gone');
    });
    await expect(retry(fn, { attempts: 5, baseMs: 10, capMs: 10, isRetryable: (e) => (e as PipelineError).transient })).rejects.toMatchObject({
      errorClass: 'NotFound',
    });
    expect(fn).toHaveBeenCalledTimes(1);
  });

  it('stops waiting when aborted', async () => {
    vi.useFakeTimers();
    const controller = new AbortController();
    const fn = vi.fn(async () => {
      throw transient();
    });
    const result = retry(fn, { attempts: 5, baseMs: 10_000, capMs: 10_000, isRetryable: () => true, signal: controller.signal });
    const assertion = expect(result).rejects.toMatchObject({ errorClass: 'Timeout' });
    await vi.advanceTimersByTimeAsync(0);
    controller.abort();
    await assertion;
    expect(fn).toHaveBeenCalledTimes(1);
  });
});

describe('mapWithConcurrency', () => {
  it('keeps order and never runs more than the limit at once', async () => {
    let running = 0;
    let peak = 0;
    const results = await mapWithConcurrency([5, 1, 4, 2, 3, 0], 2, async (n, i) => {
      running++;
      peak = Math.max(peak, running);
      await new Promise((r) => setTimeout(r, n));
      running--;
      return `${i}:${n}`;
    });
    expect(results).toEqual(['0:5', '1:1', '2:4', '3:2', '4:3', '5:0']);
    expect(peak).toBe(2);
  });

  it('rejects with the first error and starts nothing after it', async () => {
    const started: number[] = [];
    await expect(
      mapWithConcurrency([0, 1, 2, 3], 1, async (n) => {
        started.push(n);
        if (n === 1) throw new Error('boom');
        return n;
      }),
    ).rejects.toThrow('boom');
    expect(started).toEqual([0, 1]);
  });

  it('rejects only after the calls already running have settled', async () => {
    let slowDone = false;
    await expect(
      mapWithConcurrency([0, 1], 2, async (n) => {
        if (n === 0) throw new Error('fast failure');
        await new Promise((r) => setTimeout(r, 30));
        slowDone = true;
        return n;
      }),
    ).rejects.toThrow('fast failure');
    expect(slowDone).toBe(true);
  });

  it('refuses a limit below 1', async () => {
    await expect(mapWithConcurrency([1], 0, async (n) => n)).rejects.toThrow(/positive integer/);
  });
});
