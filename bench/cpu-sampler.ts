/**
 * CPU time of a child process (all its threads: ONNX Runtime's, libuv's, librdkafka's), sampled from
 * /proc/<pid>/stat while it runs. CPU per image is steadier than images per second on a machine others are
 * using: waiting for a core does not count. Linux only; elsewhere the sampler has no samples.
 */
import { execFileSync } from 'node:child_process';
import { readFileSync } from 'node:fs';

export interface CpuSample {
  /** Wall clock, ms since the epoch (the same clock as `predicted_at`). */
  at: number;
  /** User + system CPU of the process so far, ms. */
  cpuMs: number;
}

let ticksPerSecond: number | undefined;
function clockTicks(): number {
  ticksPerSecond ??= Number(execFileSync('getconf', ['CLK_TCK'], { encoding: 'utf8' }).trim()) || 100;
  return ticksPerSecond;
}

/** Pure: utime + stime in ms from the text of /proc/<pid>/stat (the command name may hold spaces and parentheses). */
export function parseProcStat(text: string, ticks: number): number {
  const fields = text.slice(text.lastIndexOf(')') + 2).split(' ');
  // Fields after the name start at field 3 (state): utime is field 14, stime 15.
  return ((Number(fields[11]) + Number(fields[12])) * 1000) / ticks;
}

export class CpuSampler {
  readonly samples: CpuSample[] = [];
  private readonly timer: NodeJS.Timeout;

  constructor(private readonly pid: number, everyMs = 100) {
    this.timer = setInterval(() => this.sample(), everyMs);
    this.sample();
  }

  private sample(): void {
    try {
      this.samples.push({ at: Date.now(), cpuMs: parseProcStat(readFileSync(`/proc/${this.pid}/stat`, 'utf8'), clockTicks()) });
    } catch {
      // The process has exited, or this is not Linux.
    }
  }

  stop(): CpuSample[] {
    this.sample();
    clearInterval(this.timer);
    return this.samples;
  }
}

/** Pure: CPU ms spent between two wall-clock times, interpolated between samples; undefined outside them. */
export function cpuBetween(samples: CpuSample[], from: number, to: number): number | undefined {
  const at = (t: number): number | undefined => {
    for (let i = 1; i < samples.length; i++) {
      const a = samples[i - 1] as CpuSample;
      const b = samples[i] as CpuSample;
      if (a.at <= t && t <= b.at) return b.at === a.at ? b.cpuMs : a.cpuMs + ((b.cpuMs - a.cpuMs) * (t - a.at)) / (b.at - a.at);
    }
    return undefined;
  };
  const start = at(from);
  const end = at(to);
  return start === undefined || end === undefined ? undefined : end - start;
}
