import { spawn } from 'node:child_process';
import { closeSync, existsSync, mkdirSync, openSync, readFileSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { dirname } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';

/** Linux: process state comes from /proc; elsewhere from signal 0. */
const HAS_PROC = existsSync('/proc/self/stat');

/** What a server runs: no shell, so the pid we record is the server itself. */
export interface LaunchSpec {
  command: string;
  args: string[];
  env?: Record<string, string>;
  cwd?: string;
}

/**
 * Starts a server in its own session and process group (setsid) with output appended to `logFile`,
 * so it outlives the CLI and can be stopped as a group.
 */
export function spawnDetached(spec: LaunchSpec, logFile: string): number {
  mkdirSync(dirname(logFile), { recursive: true });
  const out = openSync(logFile, 'a');
  try {
    const child = spawn(spec.command, spec.args, {
      cwd: spec.cwd,
      env: { ...process.env, ...spec.env },
      detached: true,
      stdio: ['ignore', out, out],
    });
    if (child.pid === undefined) throw new Error(`Could not start ${spec.command}; see ${logFile}`);
    child.unref();
    return child.pid;
  } finally {
    closeSync(out);
  }
}

export function writePidFile(pidFile: string, pid: number): void {
  mkdirSync(dirname(pidFile), { recursive: true });
  writeFileSync(pidFile, `${pid}\n`);
}

export function readPidFile(pidFile: string): number | undefined {
  try {
    const pid = Number.parseInt(readFileSync(pidFile, 'utf8').trim(), 10);
    return Number.isInteger(pid) && pid > 0 ? pid : undefined;
  } catch {
    return undefined;
  }
}

export function removePidFile(pidFile: string): void {
  rmSync(pidFile, { force: true });
}

/**
 * True when `pid` is alive and, where /proc exists, its command line contains `marker`:
 * a recycled pid that now belongs to another program does not count as our server.
 */
export function isOurProcess(pid: number, marker: string): boolean {
  if (!isAlive(pid)) return false;
  try {
    return readFileSync(`/proc/${pid}/cmdline`, 'utf8').includes(marker);
  } catch {
    return true; // No /proc (macOS): liveness is the best evidence there is.
  }
}

function isAlive(pid: number): boolean {
  if (!HAS_PROC) return signalGroupOrProcess(pid, 0, false);
  const stat = readProcStat(String(pid));
  return stat !== undefined && isRunningState(stat.state);
}

/**
 * Whether any process of the group led by `pgid` is left. Zombies do not count: where no init reaps orphans
 * (some containers), an exited server stays a zombie and would look alive forever.
 */
export function isGroupAlive(pgid: number): boolean {
  if (!HAS_PROC) return signalGroupOrProcess(pgid, 0, true);
  return readdirSync('/proc')
    .filter((entry) => /^\d+$/.test(entry))
    .some((entry) => {
      const stat = readProcStat(entry);
      return stat !== undefined && stat.pgrp === pgid && isRunningState(stat.state);
    });
}

/** True when the process is stopped by a signal (SIGSTOP): state T in /proc; false where there is no /proc. */
export function isSignalStopped(pid: number): boolean {
  return readProcStat(String(pid))?.state === 'T';
}

function isRunningState(state: string): boolean {
  return state !== 'Z' && state !== 'X'; // Zombie or dead.
}

function readProcStat(pid: string): { state: string; pgrp: number } | undefined {
  try {
    // Format: `pid (comm) state ppid pgrp ...`; comm may contain spaces and parentheses, so split after the last ')'.
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    return { state: fields[0] ?? '', pgrp: Number(fields[2]) };
  } catch {
    return undefined; // Exited while we looked.
  }
}

function signalGroupOrProcess(pid: number, signal: NodeJS.Signals | 0, group: boolean): boolean {
  try {
    process.kill(group ? -pid : pid, signal);
    return true;
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ESRCH') return false;
    if ((error as NodeJS.ErrnoException).code === 'EPERM') return true; // Alive, but not ours to signal.
    throw error;
  }
}

/**
 * SIGTERM to the whole process group, then SIGKILL once `graceMs` has passed; resolves when no process of the
 * group is left. Returns true when SIGKILL was needed.
 */
export async function stopProcessGroup(pgid: number, graceMs: number): Promise<boolean> {
  signalGroupOrProcess(pgid, 'SIGTERM', true);
  if (await waitForGroupExit(pgid, graceMs)) return false;
  signalGroupOrProcess(pgid, 'SIGKILL', true);
  if (!(await waitForGroupExit(pgid, 10_000))) {
    throw new Error(`Process group ${pgid} survived SIGKILL; inspect it with \`ps -g ${pgid}\``);
  }
  return true;
}

/** SIGKILL to the whole process group at once (a crash, for fault tests); resolves when none of it is left. */
export async function killProcessGroup(pgid: number): Promise<void> {
  signalGroupOrProcess(pgid, 'SIGKILL', true);
  if (!(await waitForGroupExit(pgid, 10_000))) {
    throw new Error(`Process group ${pgid} survived SIGKILL; inspect it with \`ps -g ${pgid}\``);
  }
}

async function waitForGroupExit(pgid: number, timeoutMs: number): Promise<boolean> {
  const deadline = Date.now() + timeoutMs;
  while (isGroupAlive(pgid)) {
    if (Date.now() >= deadline) return false;
    await sleep(200);
  }
  return true;
}
