import { describe, expect, it } from 'vitest';
import { CpuSampler, cpuBetween, parseProcStat } from '../../../bench/cpu-sampler.ts';

describe('parseProcStat', () => {
  it('adds utime and stime, after a command name with spaces and parentheses', () => {
    const text = '4242 (node (main) x) S 1 4242 4242 0 -1 4194560 100 0 0 0 250 50 0 0 20 0 11 0 123 0 0';
    expect(parseProcStat(text, 100)).toBe(3_000);
  });

  it('reads this process', () => {
    const sampler = new CpuSampler(process.pid, 10_000);
    const [sample] = sampler.stop();
    expect(sample?.cpuMs).toBeGreaterThan(0);
  });
});

describe('cpuBetween', () => {
  const samples = [{ at: 1_000, cpuMs: 0 }, { at: 2_000, cpuMs: 500 }, { at: 3_000, cpuMs: 1_500 }];
  it('interpolates between samples', () => {
    expect(cpuBetween(samples, 1_500, 2_500)).toBe(750);
    expect(cpuBetween(samples, 1_000, 3_000)).toBe(1_500);
  });
  it('says nothing outside the sampled span', () => {
    expect(cpuBetween(samples, 500, 2_000)).toBeUndefined();
    expect(cpuBetween([], 1, 2)).toBeUndefined();
  });
});
