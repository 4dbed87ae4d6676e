import { describe, expect, it } from 'vitest';
import { largestDifferences, packageOf, selfTime, type CpuProfile } from '../../../bench/cpu-profile.ts';

const ROOT = '/work/repo';

describe('CPU profile self time', () => {
  it('names the package of a frame: npm package (scoped too), repository folder, Node, V8\'s own entries', () => {
    expect(packageOf('file:///work/repo/node_modules/@opentelemetry/sdk-trace-base/build/src/Tracer.js', 'startSpan', ROOT)).toBe('@opentelemetry/sdk-trace-base');
    expect(packageOf('file:///work/repo/node_modules/.pnpm/x/node_modules/kafkajs/src/index.js', 'f', ROOT)).toBe('kafkajs');
    expect(packageOf('file:///work/repo/platform/tracing.ts', 'inSpan', ROOT)).toBe('repo:platform');
    expect(packageOf('node:internal/async_hooks', 'emitInit', ROOT)).toBe('node');
    expect(packageOf('', '(garbage collector)', ROOT)).toBe('(garbage collector)');
    expect(packageOf('', 'Promise', ROOT)).toBe('native');
  });

  it('gives each sample the time until the next one, leaving idle out', () => {
    const profile: CpuProfile = {
      nodes: [
        { id: 1, callFrame: { functionName: '(idle)', url: '', lineNumber: -1 } },
        { id: 2, callFrame: { functionName: 'startSpan', url: `file://${ROOT}/node_modules/@opentelemetry/api/x.js`, lineNumber: 9 } },
        { id: 3, callFrame: { functionName: '(garbage collector)', url: '', lineNumber: -1 } },
      ],
      samples: [2, 1, 2, 3],
      timeDeltas: [0, 1000, 5000, 2000],
    };
    const { packages, functions } = selfTime(profile, ROOT);
    expect(Object.fromEntries(packages)).toEqual({ '@opentelemetry/api': 1 + 2, '(garbage collector)': 0 });
    expect(functions.get('@opentelemetry/api startSpan:10')).toBe(3);
  });

  it('keeps only the samples inside the wall-clock windows, by the profile\'s start and clock offset', () => {
    const frame = (id: number, functionName: string) => ({ id, callFrame: { functionName, url: `file://${ROOT}/router/${functionName}.ts`, lineNumber: 0 } });
    const profile: CpuProfile = {
      nodes: [frame(1, 'startUp'), frame(2, 'route')],
      // Samples at 1,000,000 + 0, 2, 4, 6 ms on the monotonic clock; 10 ms after each is the next one's delta.
      samples: [1, 1, 2, 2],
      timeDeltas: [1_000_000_000, 2_000, 2_000, 2_000, 2_000],
      startTime: 0,
      wallOffsetMs: 5_000,
    };
    // Wall times 1,005,000 + 0, 2, 4, 6 ms: the window holds the last two.
    const { packages, functions } = selfTime(profile, ROOT, [{ from: 1_005_003, to: 1_005_010 }]);
    expect(Object.fromEntries(packages)).toEqual({ 'repo:router': 4 });
    expect(functions.has('repo:router startUp:1')).toBe(false);
    expect(Object.fromEntries(selfTime(profile, ROOT).packages)).toEqual({ 'repo:router': 8 });
    expect(selfTime({ ...profile, wallOffsetMs: undefined }, ROOT, [{ from: 0, to: Infinity }]).packages.size).toBe(0);
  });

  it('ranks what one mode adds to another', () => {
    const on = new Map([['a', 5], ['b', 1], ['c', 3]]);
    const off = new Map([['a', 4], ['b', 2], ['d', 1]]);
    expect(largestDifferences(on, off, 2)).toEqual([['c', 3], ['a', 1]]);
  });
});
