/**
 * Where a process's main-thread CPU went, from a V8 .cpuprofile (`node --cpu-prof`, cpu-profile-preload.mjs): self time per
 * package (an npm package, a folder of this repository, Node's internals, or V8's garbage collector) and per
 * function. The tracing bench compares these between tracing modes to find the cost the spans alone do not show.
 */
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';

export interface CpuProfile {
  nodes: { id: number; callFrame: { functionName: string; url: string; lineNumber: number } }[];
  samples: number[];
  /** Microseconds since the previous sample. */
  timeDeltas: number[];
  /** Monotonic microseconds of the profile's start (V8's clock, the one process.hrtime reads). */
  startTime?: number;
  /** Date.now() minus that clock in milliseconds, written by cpu-profile-preload.mjs. */
  wallOffsetMs?: number;
}

/** Self milliseconds per package, per "package function" and per script (its path or URL; '' for V8's own). */
export interface SelfTime {
  packages: Map<string, number>;
  functions: Map<string, number>;
  files: Map<string, number>;
}

/** Wall-clock spans (Date.now() milliseconds): only samples inside one of them count. */
export type WallWindows = readonly { from: number; to: number }[];

/** Pure: what a call frame's script belongs to. */
export function packageOf(url: string, functionName: string, repoRoot: string): string {
  if (url === '') return functionName.startsWith('(') ? functionName : 'native';
  const modules = url.lastIndexOf('/node_modules/');
  if (modules >= 0) {
    const [first, second] = url.slice(modules + '/node_modules/'.length).split('/');
    return first?.startsWith('@') ? `${first}/${second}` : first ?? url;
  }
  if (url.startsWith('node:')) return 'node';
  const path = url.replace(/^file:\/\//, '');
  if (path.startsWith(`${repoRoot}/`)) return `repo:${path.slice(repoRoot.length + 1).split('/')[0]}`;
  return url;
}

/**
 * Pure: self milliseconds per package and per "package function" (the idle ticks left out). With `windows`, only the
 * samples taken inside them, which leaves start-up out; a profile without wall-clock stamps then counts nothing.
 */
export function selfTime(profile: CpuProfile, repoRoot: string, windows?: WallWindows): SelfTime {
  const frames = new Map(profile.nodes.map((n) => [n.id, n.callFrame]));
  const packages = new Map<string, number>();
  const functions = new Map<string, number>();
  const files = new Map<string, number>();
  const add = (m: Map<string, number>, key: string, ms: number): void => void m.set(key, (m.get(key) ?? 0) + ms);
  const stamped = profile.startTime !== undefined && profile.wallOffsetMs !== undefined;
  let atMs = stamped ? (profile.startTime as number) / 1000 + (profile.wallOffsetMs as number) : 0;
  // A sample's time is the delta after it: V8 records the gap before the next sample on the next one.
  for (let i = 0; i < profile.samples.length; i += 1) {
    atMs += (profile.timeDeltas[i] ?? 0) / 1000;
    if (windows !== undefined && !(stamped && windows.some((w) => atMs >= w.from && atMs <= w.to))) continue;
    const frame = frames.get(profile.samples[i] as number);
    const ms = (profile.timeDeltas[i + 1] ?? 0) / 1000;
    if (!frame || frame.functionName === '(idle)') continue;
    const pkg = packageOf(frame.url, frame.functionName, repoRoot);
    add(packages, pkg, ms);
    add(functions, `${pkg} ${frame.functionName || '(anonymous)'}${frame.url ? `:${frame.lineNumber + 1}` : ''}`, ms);
    add(files, frame.url.replace(/^file:\/\//, ''), ms);
  }
  return { packages, functions, files };
}

/** The profiles node wrote into `dir` (one per process, e.g. tsx's loader thread too), summed. */
export function selfTimeOfDir(dir: string, repoRoot: string, windows?: WallWindows): SelfTime {
  const total: SelfTime = { packages: new Map(), functions: new Map(), files: new Map() };
  for (const file of readdirSync(dir).filter((f) => f.endsWith('.cpuprofile'))) {
    const one = selfTime(JSON.parse(readFileSync(join(dir, file), 'utf8')) as CpuProfile, repoRoot, windows);
    for (const key of ['packages', 'functions', 'files'] as const) for (const [k, v] of one[key]) total[key].set(k, (total[key].get(k) ?? 0) + v);
  }
  return total;
}

/** Pure: `a - b` per key, largest first, the `top` largest kept. */
export function largestDifferences(a: Map<string, number>, b: Map<string, number>, top: number): [string, number][] {
  const keys = new Set([...a.keys(), ...b.keys()]);
  return [...keys].map((k): [string, number] => [k, (a.get(k) ?? 0) - (b.get(k) ?? 0)]).sort((x, y) => y[1] - x[1]).slice(0, top);
}
