import { closeSync, openSync, readFileSync, readSync, statSync } from 'node:fs';
import { setTimeout as sleep } from 'node:timers/promises';

import { isGroupAlive } from './processes.ts';

/** Status code of a GET, or undefined when nothing answers in time. */
export async function httpStatus(url: string, timeoutMs = 2_000): Promise<number | undefined> {
  try {
    const response = await fetch(url, { signal: AbortSignal.timeout(timeoutMs) });
    await response.body?.cancel();
    return response.status;
  } catch {
    return undefined;
  }
}

export interface WaitOptions {
  serverName: string;
  timeoutMs: number;
  logFile: string;
  /** Process group of the server: when it exits, waiting stops at once instead of running into the timeout. */
  pgid: number;
  /** Size of the log before this start, so errors quote this run only. */
  logOffset: number;
  pollMs?: number;
}

/** Polls `isHealthy` until it answers true; on timeout or exit the error points at the server's log. */
export async function waitUntilHealthy(isHealthy: () => Promise<boolean>, options: WaitOptions): Promise<void> {
  const deadline = Date.now() + options.timeoutMs;
  for (;;) {
    if (await isHealthy()) return;
    if (!isGroupAlive(options.pgid)) {
      throw new Error(
        `${options.serverName} exited during startup.\n${describeLog(options.logFile, options.logOffset)}`,
      );
    }
    if (Date.now() >= deadline) {
      throw new Error(
        `${options.serverName} did not become healthy within ${Math.round(options.timeoutMs / 1000)}s ` +
          `(it is still running as process group ${options.pgid}).\n${describeLog(options.logFile, options.logOffset)}`,
      );
    }
    await sleep(options.pollMs ?? 500);
  }
}

export function logSize(file: string): number {
  try {
    return statSync(file).size;
  } catch {
    return 0;
  }
}

/** The first error lines and the last lines a server wrote since `fromOffset`, for an error message. */
export function describeLog(file: string, fromOffset = 0): string {
  const lines = readFrom(file, fromOffset).trimEnd().split('\n');
  const errors = lines.filter((line) => /\b(ERROR|FATAL)\b|Exception|Caused by|^error/i.test(line)).slice(0, 4);
  const indent = (block: string[]) => block.map((line) => `    ${line}`).join('\n');
  return [
    `Its log is ${file}.`,
    ...(errors.length > 0 ? [`  First errors:\n${indent(errors)}`] : []),
    `  Last lines:\n${indent(lines.slice(-12))}`,
  ].join('\n');
}

function readFrom(file: string, offset: number): string {
  try {
    const length = Math.max(0, statSync(file).size - offset);
    if (offset === 0) return readFileSync(file, 'utf8');
    const buffer = Buffer.alloc(length);
    const fd = openSync(file, 'r');
    try {
      readSync(fd, buffer, 0, length, offset);
    } finally {
      closeSync(fd);
    }
    return buffer.toString('utf8');
  } catch {
    return '(no log written)';
  }
}
